/**
 * A process that claims the data directory given as its argument, says so on stdout with
 * its pid, and then holds the claim until it is killed: the holder in data-dir tests.
 */
import { claimDataDir } from "../../node/src/data-dir-lock.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: claim-dir.ts <dir>");
claimDataDir(dir, "claim-dir test holder");
console.log(`claimed ${process.pid}`);
setInterval(() => {}, 60_000);
