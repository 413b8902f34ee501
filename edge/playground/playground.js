/* Starts Swagger UI on the OpenAPI document of the server that served this page.
 * Authorize offers the project's anon key (`apikey` header), a user's access token and an
 * API key; "Try it out" always calls this server. Settings come from the page's JSON data
 * block (the CSP allows no inline script). */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('playground-config').textContent);
  var root = document.getElementById('swagger-ui');

  var ANON = 'The project\'s anon key (public by design; `make up` prints it). Every ' +
    '/rest/v1 request needs it in the `apikey` header, signed in or not.';
  var USER = 'A signed-in user\'s access token (Supabase Auth session, or `flagship token ' +
    'alice`), sent as `Authorization: Bearer <token>`.';
  var KEY_TOKEN = 'An API key token: the short-lived JWT that POST ' + config.exchange_url +
    ' exchanges for an `fsk_` key; it carries the key\'s scopes.';
  var RAW_KEY = 'An API key (`fsk_...`), sent as `X-Api-Key`; checked with its scopes.';

  // The three ways in, as the document's version spells security schemes.
  function swagger2Schemes() {
    var key = config.surface === 'edge'
      ? { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: RAW_KEY }
      : { type: 'apiKey', in: 'header', name: 'Authorization', description: KEY_TOKEN };
    return {
      anonKey: { type: 'apiKey', in: 'header', name: 'apikey', description: ANON },
      userJwt: { type: 'apiKey', in: 'header', name: 'Authorization', description: USER },
      apiKey: key
    };
  }

  function openapi3Schemes() {
    var key = config.surface === 'edge'
      ? { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: RAW_KEY }
      : { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: KEY_TOKEN };
    return {
      anonKey: { type: 'apiKey', in: 'header', name: 'apikey', description: ANON },
      userJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: USER },
      apiKey: key
    };
  }

  var ALTERNATIVES = [{ anonKey: [] }, { anonKey: [], userJwt: [] }, { anonKey: [], apiKey: [] }];

  // A document that declares its own schemes keeps them; one that declares none gets ours.
  function withSchemes(doc) {
    if (doc.swagger) {
      if (!doc.securityDefinitions || !Object.keys(doc.securityDefinitions).length) {
        doc.securityDefinitions = swagger2Schemes();
        doc.security = doc.security || ALTERNATIVES;
      }
    } else {
      doc.components = doc.components || {};
      var declared = doc.components.securitySchemes;
      if (!declared || !Object.keys(declared).length) {
        doc.components.securitySchemes = openapi3Schemes();
        doc.security = doc.security || ALTERNATIVES;
      }
    }
    return doc;
  }

  // Whatever host the document names, Try it out calls the server that served this page.
  function localised(doc) {
    var here = location.protocol + '//' + location.host;
    if (doc.swagger) {
      doc.host = location.host;
      doc.schemes = [location.protocol.replace(':', '')];
      return doc;
    }
    var servers = doc.servers && doc.servers.length ? doc.servers : [{ url: '/' }];
    var documentUrl = new URL(config.openapi_url, here);
    doc.servers = servers.map(function (server) {
      if (server.url.indexOf('{') !== -1) { return server; }  // templated: left as declared
      var path = new URL(server.url, documentUrl).pathname.replace(/\/$/, '');
      return Object.assign({}, server, { url: here + path });
    });
    return doc;
  }

  function schemeNamed(doc, test) {
    var schemes = doc.swagger ? doc.securityDefinitions : (doc.components || {}).securitySchemes;
    return Object.keys(schemes || {}).filter(function (name) { return test(schemes[name]); })[0];
  }

  function fail(message) {
    var box = document.createElement('p');
    box.className = 'playground-error';
    box.textContent = message;
    root.replaceChildren(box);
  }

  function start(doc) {
    var anon = schemeNamed(doc, function (s) {
      return s.type === 'apiKey' && s.in === 'header' && s.name.toLowerCase() === 'apikey';
    });
    var ui = SwaggerUIBundle({
      spec: doc,
      dom_id: '#swagger-ui',
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: 'BaseLayout',
      docExpansion: 'none',
      filter: true,
      displayRequestDuration: true,
      persistAuthorization: false,
      validatorUrl: null,  // the default validator is an external service
      requestInterceptor: function (request) {
        // Swagger 2.0 has no bearer scheme: a token pasted without its prefix gets it.
        var auth = request.headers.Authorization;
        if (auth && !/^bearer\s/i.test(auth)) { request.headers.Authorization = 'Bearer ' + auth; }
        return request;
      },
      onComplete: function () {
        if (config.anon_key && anon) { ui.preauthorizeApiKey(anon, config.anon_key); }
      }
    });
    window.playground = ui;
  }

  var headers = { Accept: 'application/openapi+json, application/json' };
  if (config.anon_key) { headers.apikey = config.anon_key; }
  fetch(config.openapi_url, { headers: headers, credentials: 'same-origin' })
    .then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    })
    .then(function (doc) { start(localised(withSchemes(doc))); })
    .catch(function (error) {
      fail('Could not load the OpenAPI document ' + config.openapi_url + ': ' + error.message);
    });
}());
