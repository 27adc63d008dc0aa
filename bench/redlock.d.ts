// redlock 5's package.json "exports" has no "types" condition, so bundler resolution
// cannot find the declarations that it ships: point the module at them.
declare module "redlock" {
  export { default } from "../node_modules/redlock/dist/index.js";
}
