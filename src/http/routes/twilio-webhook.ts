/**
 * Twilio webhooks: inbound WhatsApp messages (`POST /webhooks/twilio/whatsapp/{instanceId}`) and
 * outbound status callbacks (`POST /webhooks/twilio/status?instanceId=…`).
 *
 * Pipeline: instance (unknown → 404; paused → 404 for inbound) → form content type (else 415)
 * → raw body within a small limit (else 413) → flat form parse → X-Twilio-Signature over
 * PLUGBOARD_PUBLIC_BASE_URL + original path and query with the instance's token (missing → 400,
 * wrong → 403) → use case → 200 with empty TwiML. Nothing is stored before the signature holds,
 * and the model is never called here: Twilio gives a webhook 15 s in total.
 * Must never log form fields (they hold phone numbers and message text).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { AppError, ErrorType, invalidRequest, notFound } from '../../errors.ts';
import { readRawBody } from '../body.ts';
import { parseTwilioForm, validateTwilioSignature, type TwilioParams } from '../../toolkits/whatsapp/twilio.ts';
import { InboundRejected, type Inbound } from '../../channels/whatsapp/inbound.ts';
import { StatusCallbackError, type StatusCallbacks } from '../../channels/whatsapp/status.ts';
import type { WebhookInstance } from '../../storage/repos/whatsapp-instances.ts';

/** Twilio's webhook forms are small (WhatsApp text ≤ 4,096 chars plus metadata); anything far larger is refused. */
export const WEBHOOK_BODY_LIMIT = 64 * 1024;
/** The empty TwiML answer: "received, nothing to say now" (the reply comes later through the API). */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/** What the webhook routes need. */
export interface TwilioWebhookDeps {
  /** Unscoped lookup by id (the signature check that follows authenticates the caller). */
  findInstance(id: string): WebhookInstance | null;
  inbound: Inbound;
  status: StatusCallbacks;
  publicBaseUrl: string;
}

function webhookError(status: number, code: string, message: string, param: string | null = null): AppError {
  const type = status === 403 ? ErrorType.permission : status === 404 ? ErrorType.notFound : ErrorType.invalidRequest;
  return new AppError({ code, status, type, message, param });
}

/** Reads and verifies a Twilio form for `instance`; throws the 4xx the pipeline names. */
async function signedForm(ctx: Koa.Context, instance: WebhookInstance, publicBaseUrl: string): Promise<TwilioParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw webhookError(415, 'unsupported_media_type', 'Twilio webhooks must be application/x-www-form-urlencoded.');
  }
  const raw = await readRawBody(ctx.req, WEBHOOK_BODY_LIMIT);
  const params = parseTwilioForm(raw.toString('utf8'));
  const signature = ctx.get('x-twilio-signature');
  if (!signature) throw webhookError(400, 'missing_signature', 'The X-Twilio-Signature header is missing.', 'X-Twilio-Signature');
  if (!validateTwilioSignature({ authToken: instance.authToken, signature, url: publicBaseUrl + ctx.originalUrl, params })) {
    throw webhookError(403, 'invalid_signature', 'The X-Twilio-Signature does not match this request.', 'X-Twilio-Signature');
  }
  return params;
}

function twiml(ctx: Koa.Context): void {
  ctx.status = 200;
  ctx.type = 'text/xml';
  ctx.body = EMPTY_TWIML;
}

/** The Twilio webhook routes (unauthenticated except by the signature, so they sit outside the control panel). */
export function twilioWebhookRoutes(deps: TwilioWebhookDeps): Router {
  const router = new Router();

  router.post('/webhooks/twilio/whatsapp/:instanceId', async function twilioInboundMessage(ctx) {
    const instance = deps.findInstance(ctx.params.instanceId);
    // Paused looks like unknown, so the answer reveals nothing before the signature is checked.
    if (!instance || instance.status !== 'active') throw notFound('whatsapp_instance', 'instanceId');
    const params = await signedForm(ctx, instance, deps.publicBaseUrl);
    try {
      deps.inbound.receive(instance, params);
    } catch (err) {
      if (!(err instanceof InboundRejected)) throw err;
      if (err.reason === 'mismatch') throw webhookError(403, 'webhook_mismatch', err.message, err.param);
      throw invalidRequest(err.message, err.param, 'invalid_webhook');
    }
    twiml(ctx);
  });

  router.post('/webhooks/twilio/status', async function twilioStatusCallback(ctx) {
    const id = ctx.query.instanceId;
    const instance = typeof id === 'string' ? deps.findInstance(id) : null;
    if (!instance) throw notFound('whatsapp_instance', 'instanceId');
    const params = await signedForm(ctx, instance, deps.publicBaseUrl);
    const account = params.AccountSid;
    if (account !== undefined && account !== instance.twilioAccountSid) {
      throw webhookError(403, 'webhook_mismatch', 'AccountSid does not match this instance.', 'AccountSid');
    }
    try {
      deps.status.handle(instance, params);
    } catch (err) {
      if (err instanceof StatusCallbackError) throw invalidRequest(err.message, err.param, 'invalid_webhook');
      throw err;
    }
    twiml(ctx);
  });

  return router;
}
