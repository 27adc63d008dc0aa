/** withlock's own exit codes (sysexits-style); any other code is the command's. */
export const EXIT = {
  usage: 64,
  /** A bug in withlock itself. */
  internal: 70,
  /** The lock service could not be reached or refused the request (auth, bad input). */
  unavailable: 69,
  /** The key is held (after --wait, if given). */
  held: 75,
  /** The lease was lost while the command ran; the command was stopped. */
  leaseLost: 76,
  cannotRun: 126,
  notFound: 127,
} as const;
