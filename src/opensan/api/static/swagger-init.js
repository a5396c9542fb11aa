// Starts Swagger UI on /docs with the array's OpenAPI description. A file, not an inline
// script, so the page's content security policy allows scripts from the array only.
"use strict";

// The login sets the opensan_csrf cookie for the array's own pages: a POST that the session
// cookie authenticates must carry it back as X-CSRF-Token (docs/api.md, "Authentication").
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)opensan_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : null;
}

window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  validatorUrl: null, // its default sends the description to swagger.io for a badge
  requestInterceptor: (request) => {
    const token = csrfToken();
    if (token) {
      request.headers["X-CSRF-Token"] = token;
    }
    return request;
  },
});
