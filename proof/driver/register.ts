/**
 * The fenced resource every holder writes to (like Jepsen's lock-etcd-set): per key, it
 * accepts a write whose fence is at least the newest it accepted and refuses an older one,
 * which is what a resource guarded by fencing tokens does. It runs inside the harness, so
 * its own steps are atomic; the checker verifies its history all the same.
 */
export class FencedRegister {
  private readonly newest = new Map<string, bigint>();

  write(key: string, fence: bigint): boolean {
    const newest = this.newest.get(key);
    if (newest !== undefined && fence < newest) return false;
    this.newest.set(key, fence);
    return true;
  }
}
