// Types `env` from "cloudflare:workers" in the tests with the Worker's bindings.
type HoldfastEnv = import("../src/env.ts").Env;

declare namespace Cloudflare {
  interface Env extends HoldfastEnv {}
}
