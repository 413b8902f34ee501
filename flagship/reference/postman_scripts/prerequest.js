// Flagship: every request carries the project key as `apikey` (as Supabase's gateway asks).
// A request authorised by {{apiKeyJwt}} first exchanges {{apiKey}} for that short JWT at
// /functions/v1/api-keys/token, once, and again shortly before it expires.
pm.request.headers.upsert({ key: 'apikey', value: pm.variables.replaceIn('{{anonKey}}') });
const bearer = pm.request.auth && pm.request.auth.type === 'bearer'
  ? pm.request.auth.parameters().get('token')
  : null;
const expires = Number(pm.collectionVariables.get('apiKeyJwtExpiresAt') || 0);
if (bearer === '{{apiKeyJwt}}' && pm.variables.get('apiKey')
    && (!pm.variables.get('apiKeyJwt') || Date.now() / 1000 > expires - 60)) {
  pm.sendRequest({
    url: pm.variables.replaceIn('{{baseUrl}}/functions/v1/api-keys/token'),
    method: 'POST',
    header: [
      { key: 'apikey', value: pm.variables.replaceIn('{{anonKey}}') },
      { key: 'x-api-key', value: pm.variables.get('apiKey') },
      { key: 'Content-Type', value: 'application/json' },
    ],
    body: { mode: 'raw', raw: '{}' },
  }, (err, res) => {
    if (err || res.code !== 200) {
      throw new Error(`API key exchange failed: ${err ? err.message : `${res.code} ${res.text()}`}`);
    }
    const token = res.json();
    pm.collectionVariables.set('apiKeyJwt', token.access_token);
    pm.collectionVariables.set('apiKeyJwtExpiresAt', String(token.expires_at));
  });
}
