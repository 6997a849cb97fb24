/**
 * Stands in for `@actions/http-client` inside the bundles only (tsconfig.json `paths`, which ncc
 * applies to dependencies too). `@actions/core` imports it for one feature, OIDC tokens
 * (`core.getIDToken`), which this action never requests; the real client loads undici, whose
 * evaluation cost ~65 ms at every start of the action (measured on Node 24), about a third of the
 * bundle's start-up. Tests and type checks see the real package.
 */
export class HttpClient {
  constructor() {
    throw new Error(
      'supabase-migration-guard does not bundle an HTTP client: OIDC tokens (core.getIDToken) are not supported',
    );
  }
}
