/**
 * `GET /docs`: Swagger UI over /openapi.json. Users paste tokens into this page, so it
 * loads nothing that could change under them: one pinned version of swagger-ui-dist from
 * jsDelivr (which serves the npm package's files as published), each file checked by the
 * browser against its SHA-384 (Subresource Integrity), and a Content-Security-Policy that
 * allows no other script, style or connection. The hashes are those of the npm package
 * installed here (test/docs-page.test.ts recomputes them from node_modules). The UI's
 * assets are 1.7 MB: they stay out of the Worker bundle.
 *
 * Offline, /docs shows its header and a link to /openapi.json, which needs no network.
 */
export const SWAGGER_UI = {
  version: "5.35.0",
  js: {
    file: "swagger-ui-bundle.js",
    integrity: "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
  },
  css: { file: "swagger-ui.css", integrity: "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I" },
} as const;

const CDN = `https://cdn.jsdelivr.net/npm/swagger-ui-dist@${SWAGGER_UI.version}`;

/** The page's own script: a file rather than inline, so that the policy can forbid inline scripts. */
export const DOCS_INIT_JS = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });\n`;

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Holdfast API</title>
<link rel="stylesheet" href="${CDN}/${SWAGGER_UI.css.file}" integrity="${SWAGGER_UI.css.integrity}" crossorigin="anonymous">
</head>
<body>
<noscript>The API reference needs JavaScript; the OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"><p>Loading Swagger UI ${SWAGGER_UI.version}… The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p></div>
<script src="${CDN}/${SWAGGER_UI.js.file}" integrity="${SWAGGER_UI.js.integrity}" crossorigin="anonymous"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/** Scripts and styles only from the pinned CDN files and this origin; requests only to this origin. */
export const DOCS_CSP = [
  "default-src 'none'",
  `script-src 'self' ${CDN}/${SWAGGER_UI.js.file}`,
  `style-src ${CDN}/${SWAGGER_UI.css.file} 'unsafe-inline'`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
