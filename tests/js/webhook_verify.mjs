// Verify a received webhook with the official Standard Webhooks library for JavaScript
// (npm `standardwebhooks`), as an integrator's receiver would — the code docs/events.md shows.
// Usage: node tests/js/webhook_verify.mjs; WEBHOOK_SECRET, WEBHOOK_BODY (the raw body) and
// WEBHOOK_HEADERS (JSON) come from the environment. Prints {ok, event} or {ok: false, error}.
import { Webhook } from 'standardwebhooks';

const wh = new Webhook(process.env.WEBHOOK_SECRET); // "whsec_..."
try {
  // verify() checks the signature over id.timestamp.body and the 5-minute timestamp window
  const event = wh.verify(process.env.WEBHOOK_BODY, JSON.parse(process.env.WEBHOOK_HEADERS));
  console.log(JSON.stringify({ ok: true, event }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
}
