// Starts ReDoc on /redoc with the array's OpenAPI description (a file, for the page's content
// security policy, like swagger-init.js).
"use strict";

Redoc.init("openapi.json", {}, document.getElementById("redoc"));
