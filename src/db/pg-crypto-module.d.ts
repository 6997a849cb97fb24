// pg's crypto helpers (no types of their own): pg-scram.ts replaces some of them.
declare module 'pg/lib/crypto/utils.js' {
  const utils: Record<string, unknown>;
  export default utils;
}
