// libpg-query's Emscripten module factory (no types of its own): byte-parser.ts.
declare module 'libpg-query/wasm/libpg-query.js' {
  const PgQueryModule: (options?: { locateFile?: (file: string) => string }) => Promise<unknown>;
  export default PgQueryModule;
}
