// Starts GraphiQL on the portal's /graphql page. Served by the API itself
// (api/src/http/graphiql.rs) with React, GraphiQL and graphql-ws, so the page
// works without a CDN and no request leaves the API's origin.
(function () {
  "use strict";
  var page = document.getElementById("graphiql");
  var endpoint = new URL(page.dataset.endpoint, window.location.href);
  var socket = new URL(page.dataset.subscriptionEndpoint, window.location.href);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";

  // The Headers pane is where a signed-in user puts
  // {"Authorization": "Bearer <token>"}; subscriptions send the same value in
  // the WebSocket's connection_init payload, read when a connection opens.
  function headers() {
    try {
      var saved = JSON.parse(window.localStorage.getItem("graphiql:headers") || "{}");
      return saved && typeof saved === "object" ? saved : {};
    } catch (error) {
      return {};
    }
  }

  var fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    wsClient: graphqlWs.createClient({
      url: socket.toString(),
      lazy: true,
      connectionParams: function () {
        var h = headers();
        var authorization = h.Authorization || h.authorization;
        return authorization ? { authorization: authorization } : {};
      },
    }),
  });

  ReactDOM.createRoot(page).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      defaultQuery: page.dataset.defaultQuery,
    })
  );
})();
