// Renders the API documentation from the locally served OpenAPI document. Deep links stay off:
// Swagger UI puts them as links inside each operation's button, which no keyboard or screen
// reader can use.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || !window.SwaggerUIBundle) { return; }
  window.SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: false,
    validatorUrl: null,
    // Swagger UI leaves its server picker without a name; screen readers need one.
    onComplete: function () {
      var servers = document.getElementById("servers");
      if (servers) { servers.setAttribute("aria-label", node.getAttribute("data-servers-label")); }
    }
  });
})();
