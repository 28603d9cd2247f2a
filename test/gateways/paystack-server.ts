/**
 * A local Paystack-compatible HTTP server for tests. It checks every request against Paystack's
 * own OpenAPI document (test/gateways/specs/paystack/paystack.yaml): path, method, query
 * parameters, body fields (required, known, types, enums) and the bearer key. Anything that does
 * not match is recorded in specViolations, and tests assert that list is empty: that is how we find
 * out we misread Paystack before a merchant does. Its own responses are checked against the same
 * document (responseViolations), so the adapter is tested against what Paystack documents it sends.
 *
 * Behaviour, by authorization code (all belong to buyer@example.com unless added otherwise):
 *   AUTH_success      reusable; charges succeed (NGN and USD only)
 *   AUTH_failed       reusable; charges fail with "Insufficient Funds"
 *   AUTH_declined     reusable; charges fail with "Declined"
 *   AUTH_paused       reusable; charges pause for the bank (paused: true + authorization_url)
 *   AUTH_nonreusable  not reusable; Paystack refuses to charge it
 * A reused reference is refused with duplicate_reference, as Paystack does. Faults (500s, dropped
 * connections, before or after the work is done) are injected through failNext.
 */
import { createHmac, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

type Json = Record<string, unknown>;

/** A JSON value as text the way String() prints it, objects as JSON rather than '[object Object]'. */
function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Paystack's OpenAPI document

/** Vendored with its licence in test/gateways/specs/paystack (see the README there). */
export function paystackSpecPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), 'specs/paystack/paystack.yaml');
}

let cachedSpec: Json | undefined;
function loadSpec(): Json {
  if (!cachedSpec) {
    const doc: unknown = parseYaml(readFileSync(paystackSpecPath(), 'utf8'));
    if (!isRecord(doc) || !isRecord(doc.paths)) throw new Error('the Paystack OpenAPI document has no paths');
    cachedSpec = doc;
  }
  return cachedSpec;
}

/** Follows "#/components/..." references to the node they name. */
function deref(doc: Json, node: unknown): Json {
  let current = node;
  for (let hops = 0; isRecord(current) && typeof current.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`reference loop at ${current.$ref}`);
    const ref: string = current.$ref;
    if (!ref.startsWith('#/')) throw new Error(`external reference ${ref} is not supported`);
    current = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, part) => (isRecord(at) ? at[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
  }
  return isRecord(current) ? current : {};
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/**
 * A JSON-Schema check of the OpenAPI 3.0 subset Paystack's document uses. `strict` also refuses
 * fields the schema does not name: right for what we send, too picky for what Paystack sends.
 */
function validate(doc: Json, schemaNode: unknown, value: unknown, at: string, out: string[], strict: boolean): void {
  const schema = deref(doc, schemaNode);
  if (value === null) {
    if (schema.nullable !== true && schema.type !== undefined) out.push(`${at}: null where the document wants ${text(schema.type)}`);
    return;
  }
  if (Array.isArray(schema.allOf)) for (const part of schema.allOf) validate(doc, part, value, at, out, strict);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    // oneOf is checked as anyOf: exclusivity says nothing about whether we read Paystack right.
    const fits = branches.some((branch) => {
      const errors: string[] = [];
      validate(doc, branch, value, at, errors, strict);
      return errors.length === 0;
    });
    if (!fits) out.push(`${at}: matches none of the document's ${key} shapes`);
  }
  const type = typeof schema.type === 'string' ? schema.type : isRecord(schema.properties) ? 'object' : undefined;
  const actual = typeOf(value);
  if (type !== undefined) {
    const ok = type === 'number' ? typeof value === 'number' : type === actual;
    if (!ok) {
      out.push(`${at}: ${actual} where the document wants ${type}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (isRecord(value)) {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const name of schema.required) {
        if (typeof name === 'string' && value[name] === undefined) out.push(`${at}.${name}: required by the document, missing`);
      }
    }
    for (const [name, field] of Object.entries(value)) {
      if (Object.hasOwn(properties, name)) validate(doc, properties[name], field, `${at}.${name}`, out, strict);
      else if (strict && isRecord(schema.properties) && schema.additionalProperties !== true) {
        out.push(`${at}.${name}: not a field the document knows`);
      }
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => validate(doc, schema.items, item, `${at}[${i}]`, out, strict));
  }
}

/** Path and query parameters arrive as text: read them as the type the document declares. */
function coerceParameter(doc: Json, schemaNode: unknown, raw: string): unknown {
  const type = deref(doc, schemaNode).type;
  if (type === 'integer' && /^-?\d+$/.test(raw)) return Number(raw);
  if (type === 'number' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

interface MatchedOperation {
  specPath: string;
  operationId: string;
  operation: Json;
  pathParams: Record<string, string>;
}

/** Matches a request to the document's operation; literal segments beat templated ones. */
function matchOperation(doc: Json, method: string, pathname: string): MatchedOperation | string {
  const paths = isRecord(doc.paths) ? doc.paths : {};
  const candidates: Array<{ specPath: string; params: Record<string, string>; templated: number }> = [];
  for (const specPath of Object.keys(paths)) {
    const names: string[] = [];
    const pattern = specPath
      .replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`))
      .replace(/\{([^}]+)\}/g, (_m, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
    const m = new RegExp(`^${pattern}$`).exec(pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1] ?? '')));
    candidates.push({ specPath, params, templated: names.length });
  }
  if (candidates.length === 0) return `${method} ${pathname}: no such path in Paystack's document`;
  candidates.sort((a, b) => a.templated - b.templated);
  for (const c of candidates) {
    const item = paths[c.specPath];
    const operation = isRecord(item) ? item[method.toLowerCase()] : undefined;
    if (isRecord(operation)) {
      return { specPath: c.specPath, operationId: text(operation.operationId), operation, pathParams: c.params };
    }
  }
  return `${method} ${pathname}: not in Paystack's document (it has ${candidates.map((c) => c.specPath).join(', ')} here, but not for ${method})`;
}

function parametersOf(doc: Json, specPath: string, operation: Json): Json[] {
  const item = deref(doc, isRecord(doc.paths) ? doc.paths[specPath] : undefined);
  const shared: unknown[] = Array.isArray(item.parameters) ? item.parameters : [];
  const own: unknown[] = Array.isArray(operation.parameters) ? operation.parameters : [];
  return [...shared, ...own].map((p) => deref(doc, p));
}

// ---------------------------------------------------------------------------------------------
// The simulated gateway

export type PaystackOperation = 'customer_fetch' | 'transaction_chargeAuthorization' | 'transaction_verify' | 'refund_create' | 'refund_list';

export interface TestAuthorization {
  code: string;
  email: string;
  reusable: boolean;
  outcome: 'success' | 'failed' | 'paused';
  gatewayResponse?: string;
  currencies?: string[];
}

export type TransactionStatus = 'success' | 'failed' | 'ongoing' | 'abandoned' | 'reversed';

export interface TestTransaction {
  id: number;
  reference: string;
  authorizationCode: string;
  email: string;
  amount: number;
  currency: string;
  status: TransactionStatus;
  gatewayResponse: string;
  paused: boolean;
  /** as sent: Paystack's document has charge_authorization metadata as a string */
  metadataRaw: string | null;
  metadata: Json | null;
  createdAt: Date;
  paidAt: Date | null;
}

export interface TestRefund {
  id: number;
  reference: string;
  amount: number;
  merchantNote: string | null;
  createdAt: Date;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** the query string, with its "?" (empty without one) */
  query: string;
  operationId: string | null;
  body: unknown;
  status: number;
}

export type Fault = 'http_500_before' | 'http_500_after' | 'reset_after';

export const DEFAULT_EMAIL = 'buyer@example.com';

const DEFAULT_AUTHORIZATIONS: TestAuthorization[] = [
  { code: 'AUTH_success', email: DEFAULT_EMAIL, reusable: true, outcome: 'success', currencies: ['NGN', 'USD'] },
  { code: 'AUTH_failed', email: DEFAULT_EMAIL, reusable: true, outcome: 'failed', gatewayResponse: 'Insufficient Funds' },
  { code: 'AUTH_declined', email: DEFAULT_EMAIL, reusable: true, outcome: 'failed', gatewayResponse: 'Declined' },
  { code: 'AUTH_paused', email: DEFAULT_EMAIL, reusable: true, outcome: 'paused' },
  { code: 'AUTH_nonreusable', email: DEFAULT_EMAIL, reusable: false, outcome: 'success' },
];

export interface PaystackTestServer {
  readonly url: string;
  readonly secretKey: string;
  /** requests that do not match Paystack's OpenAPI document: must stay empty */
  readonly specViolations: string[];
  /** our own answers that do not match the document: must stay empty too */
  readonly responseViolations: string[];
  readonly requests: RecordedRequest[];
  readonly transactions: ReadonlyMap<string, TestTransaction>;
  readonly refunds: readonly TestRefund[];
  /** the refunds made on one transaction (by reference), oldest first */
  refundsFor(reference: string): TestRefund[];
  /** distinct transactions created (seeded ones included) */
  readonly chargeCount: number;
  transactionsFor(workflowId: string): TestTransaction[];
  requestsTo(operationId: PaystackOperation): RecordedRequest[];
  addAuthorization(authorization: TestAuthorization): void;
  /** makes the next `times` calls to this operation fail this way */
  failNext(operationId: PaystackOperation, fault: Fault, times?: number): void;
  clearFaults(): void;
  /** the bank's answer to a paused charge */
  settle(reference: string, status: 'success' | 'failed' | 'abandoned', gatewayResponse?: string): void;
  /** a transaction Paystack already holds, as if an earlier request had made it */
  seedTransaction(tx: { reference: string; authorizationCode: string; email?: string; amount: number; currency: string; status: TransactionStatus; metadata?: Json }): void;
  /** the body of a webhook as Paystack sends it for this transaction */
  webhookBody(reference: string, event?: string): string;
  sign(rawBody: string | Buffer): string;
  close(): Promise<void>;
}

export async function startPaystackServer(options: { secretKey: string }): Promise<PaystackTestServer> {
  const doc = loadSpec();
  const { secretKey } = options;
  const specViolations: string[] = [];
  const responseViolations: string[] = [];
  const requests: RecordedRequest[] = [];
  const authorizations = new Map(DEFAULT_AUTHORIZATIONS.map((a) => [a.code, a]));
  const transactions = new Map<string, TestTransaction>();
  const refunds: TestRefund[] = [];
  const faults = new Map<string, { fault: Fault; times: number }>();
  let nextId = 4_099_260_000;
  let baseUrl = '';

  const customerCode = (email: string) => `CUS_${createHash('sha256').update(email).digest('hex').slice(0, 15)}`;
  const customerId = (email: string) => Number.parseInt(createHash('sha256').update(email).digest('hex').slice(0, 8), 16);

  function authorizationObject(code: string) {
    const auth = authorizations.get(code);
    return {
      authorization_code: code,
      bin: '408408',
      last4: '4081',
      exp_month: '12',
      exp_year: '2030',
      channel: 'card',
      card_type: 'visa',
      bank: 'TEST BANK',
      country_code: 'NG',
      brand: 'visa',
      reusable: auth?.reusable ?? false,
      signature: `SIG_${createHash('sha256').update(code).digest('hex').slice(0, 20)}`,
      account_name: null,
    };
  }

  function customerObject(email: string) {
    return {
      id: customerId(email),
      first_name: null,
      last_name: null,
      email,
      customer_code: customerCode(email),
      phone: null,
      metadata: null,
      risk_action: 'default',
      international_format_phone: null,
    };
  }

  const resumeUrl = (tx: TestTransaction) => `${baseUrl}/checkout/resume/${tx.id}`;

  /** charge_authorization's data (ChargeAuthorizationResponse), plus the paused fields Paystack adds */
  function chargeData(tx: TestTransaction) {
    return {
      amount: tx.amount,
      currency: tx.currency,
      transaction_date: tx.createdAt.toISOString(),
      status: tx.status,
      reference: tx.reference,
      domain: 'test',
      metadata: tx.metadataRaw ?? '',
      gateway_response: tx.gatewayResponse,
      message: null,
      channel: 'card',
      ip_address: null,
      log: null,
      fees: tx.status === 'success' ? Math.round(tx.amount * 0.015) : null,
      authorization: authorizationObject(tx.authorizationCode),
      customer: customerObject(tx.email),
      plan: null,
      id: tx.id,
      ...(tx.paused ? { paused: true, authorization_url: resumeUrl(tx) } : {}),
    };
  }

  /** verify's data (VerifyResponse); webhooks carry the same transaction */
  function verifyData(tx: TestTransaction) {
    const paidAt = tx.paidAt?.toISOString() ?? null;
    return {
      id: tx.id,
      domain: 'test',
      status: tx.status,
      reference: tx.reference,
      receipt_number: null,
      amount: tx.amount,
      message: null,
      gateway_response: tx.gatewayResponse,
      paid_at: paidAt,
      created_at: tx.createdAt.toISOString(),
      channel: 'card',
      currency: tx.currency,
      ip_address: '127.0.0.1',
      metadata: tx.metadata ?? tx.metadataRaw ?? '',
      log: null,
      fees: tx.status === 'success' || tx.status === 'reversed' ? Math.round(tx.amount * 0.015) : null,
      fees_split: null,
      authorization: authorizationObject(tx.authorizationCode),
      customer: customerObject(tx.email),
      plan: null,
      split: {},
      order_id: null,
      paidAt,
      createdAt: tx.createdAt.toISOString(),
      requested_amount: tx.amount,
      pos_transaction_data: null,
      source: null,
      fees_breakdown: null,
      connect: null,
      transaction_date: tx.createdAt.toISOString(),
      plan_object: {},
      subaccount: {},
    };
  }

  const example = (path: string[]): Json => {
    const node = path.reduce<unknown>((at, part) => (isRecord(at) ? at[part] : undefined), doc);
    return isRecord(node) ? { ...node } : {};
  };
  const notFound = (): Reply => ({ status: 404, body: example(['components', 'responses', 'NotFound', 'content', 'application/json', 'example']) });
  const badRequest = (message: string): Reply => ({ status: 400, body: { status: false, message, type: 'validation_error', code: 'validation_error' } });

  type Reply = { status: number; body: Json };

  function customerFetch(params: Record<string, string>): Reply {
    const key = params.code ?? '';
    const owned = [...authorizations.values()].filter((a) => a.email.toLowerCase() === key.toLowerCase() || customerCode(a.email) === key);
    if (owned.length === 0) return notFound();
    const email = owned[0]!.email;
    const now = new Date().toISOString();
    return {
      status: 200,
      body: {
        status: true,
        message: 'Customer retrieved',
        data: {
          transactions: [],
          subscriptions: [],
          authorizations: owned.map((a) => authorizationObject(a.code)),
          first_name: '',
          last_name: '',
          email,
          phone: '',
          metadata: {},
          domain: 'test',
          customer_code: customerCode(email),
          risk_action: 'default',
          id: customerId(email),
          integration: 100032,
          createdAt: now,
          updatedAt: now,
          created_at: now,
          updated_at: now,
          total_transactions: [...transactions.values()].filter((t) => t.email === email).length,
          total_transaction_value: [],
          dedicated_account: null,
          dedicated_accounts: [],
          identified: false,
          identifications: null,
        },
      },
    };
  }

  function chargeAuthorization(body: Json): Reply {
    const code = text(body.authorization_code);
    const email = text(body.email);
    const currency = typeof body.currency === 'string' ? body.currency : 'NGN';
    const reference = typeof body.reference === 'string' ? body.reference : `T${nextId}`;
    if (!/^[A-Za-z0-9.=-]+$/.test(reference)) {
      specViolations.push(`POST /transaction/charge_authorization: reference "${reference}" breaks "Only -, ., = and alphanumeric characters allowed"`);
      return badRequest('Invalid transaction reference');
    }
    if (transactions.has(reference)) {
      return { status: 400, body: example(['components', 'schemas', 'TransactionInitializeBadRequestModel', 'example']) };
    }
    const auth = authorizations.get(code);
    if (!auth) return badRequest('Invalid authorization code');
    if (auth.email.toLowerCase() !== email.toLowerCase()) return badRequest('Authorization code does not belong to this customer email');
    if (!auth.reusable) return badRequest('Authorization is not reusable');
    if (auth.currencies && !auth.currencies.includes(currency)) return badRequest(`Currency ${currency} is not supported for this authorization`);
    const metadataRaw = typeof body.metadata === 'string' ? body.metadata : null;
    let metadata: Json | null = null;
    try {
      const parsed: unknown = metadataRaw ? JSON.parse(metadataRaw) : null;
      metadata = isRecord(parsed) ? parsed : null;
    } catch {
      specViolations.push('POST /transaction/charge_authorization: metadata is not "Stringified JSON object"');
    }
    const now = new Date();
    const tx: TestTransaction = {
      id: nextId++,
      reference,
      authorizationCode: code,
      email,
      amount: Number(body.amount),
      currency,
      status: auth.outcome === 'paused' ? 'ongoing' : auth.outcome,
      gatewayResponse:
        auth.outcome === 'success' ? 'Approved' : auth.outcome === 'paused' ? 'Transaction is paused for customer authorization' : (auth.gatewayResponse ?? 'Declined'),
      paused: auth.outcome === 'paused',
      metadataRaw,
      metadata,
      createdAt: now,
      paidAt: auth.outcome === 'success' ? now : null,
    };
    transactions.set(reference, tx);
    return { status: 200, body: { status: true, message: 'Charge attempted', data: chargeData(tx) } };
  }

  function verify(params: Record<string, string>): Reply {
    const tx = transactions.get(params.reference ?? '');
    if (!tx) return notFound();
    return { status: 200, body: { status: true, message: 'Verification successful', data: verifyData(tx) } };
  }

  function refundCreate(body: Json): Reply {
    const key = text(body.transaction);
    const tx = transactions.get(key) ?? [...transactions.values()].find((t) => String(t.id) === key);
    if (!tx) return { status: 404, body: { status: false, message: 'Transaction not found' } };
    if (tx.status === 'reversed') return badRequest('Transaction has been fully reversed');
    if (tx.status !== 'success') return badRequest('Only successful transactions can be refunded');
    // Partial refunds: each takes from what is left; the transaction is reversed once nothing is.
    const refundedBefore = refunds.filter((r) => r.reference === tx.reference).reduce((sum, r) => sum + r.amount, 0);
    const remaining = tx.amount - refundedBefore;
    const amount = typeof body.amount === 'number' ? body.amount : remaining;
    if (amount <= 0) return badRequest('Refund amount must be more than 0');
    if (amount > remaining) return badRequest('Refund amount cannot be more than the unrefunded transaction amount');
    if (amount === remaining) tx.status = 'reversed';
    const refund: TestRefund = {
      id: nextId++,
      reference: tx.reference,
      amount,
      merchantNote: typeof body.merchant_note === 'string' ? body.merchant_note : null,
      createdAt: new Date(),
    };
    refunds.push(refund);
    const now = new Date().toISOString();
    return {
      status: 200,
      body: {
        status: true,
        message: 'Refund has been queued for processing',
        data: {
          transaction: {
            id: tx.id,
            domain: 'test',
            reference: tx.reference,
            amount: tx.amount,
            paid_at: tx.paidAt?.toISOString() ?? now,
            channel: 'card',
            currency: tx.currency,
            authorization: { exp_month: null, exp_year: null, account_name: null },
            customer: { international_format_phone: null },
            plan: {},
            subaccount: { currency: null },
            split: {},
            order_id: null,
            paidAt: tx.paidAt?.toISOString() ?? now,
            pos_transaction_data: null,
            source: null,
            fees_breakdown: null,
          },
          integration: 100032,
          deducted_amount: 0,
          channel: null,
          merchant_note: refund.merchantNote ?? '',
          customer_note: `Refund for transaction ${tx.reference}`,
          status: 'pending',
          refunded_by: 'ops@example.com',
          expected_at: now,
          currency: tx.currency,
          domain: 'test',
          amount,
          fully_deducted: false,
          id: refund.id,
          createdAt: now,
          updatedAt: now,
        },
      },
    };
  }

  /** GET /refund: the newest first, a page of perPage, from and to on the creation date (the document lists no filter by transaction). */
  function refundList(query: URLSearchParams): Reply {
    const perPage = Math.max(1, Number.parseInt(query.get('perPage') ?? '50', 10) || 50);
    const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
    const from = query.get('from') ? Date.parse(query.get('from')!) : Number.NEGATIVE_INFINITY;
    const to = query.get('to') ? Date.parse(query.get('to')!) : Number.POSITIVE_INFINITY;
    const newest = [...refunds].reverse().filter((r) => r.createdAt.getTime() >= from && r.createdAt.getTime() <= to);
    const shown = newest.slice((page - 1) * perPage, page * perPage);
    return {
      status: 200,
      body: {
        status: true,
        message: 'Refunds retrieved',
        data: shown.map((r) => {
          const tx = transactions.get(r.reference)!;
          return {
            integration: 100032,
            transaction: tx.id,
            dispute: null,
            settlement: null,
            id: r.id,
            domain: 'test',
            currency: tx.currency,
            amount: r.amount,
            status: 'pending',
            refunded_at: null,
            refunded_by: 'ops@example.com',
            customer_note: `Refund for transaction ${tx.reference}`,
            merchant_note: r.merchantNote ?? '',
            deducted_amount: 0,
            fully_deducted: 0,
            createdAt: r.createdAt.toISOString(),
            bank_reference: null,
            transaction_reference: tx.reference,
            reason: '',
            customer: {
              id: customerId(tx.email),
              first_name: '',
              last_name: '',
              email: tx.email,
              customer_code: customerCode(tx.email),
              phone: null,
              metadata: '',
              risk_action: 'default',
              international_format_phone: '',
            },
            refund_type: r.amount === tx.amount ? 'full' : 'partial',
            transaction_amount: tx.amount,
            initiated_by: 'api',
            refund_channel: 'card',
            session_id: null,
            collect_account_number: false,
          };
        }),
        meta: {
          total: newest.length,
          skipped: (page - 1) * perPage,
          perPage: String(perPage),
          page,
          pageCount: Math.max(1, Math.ceil(newest.length / perPage)),
          failedRefundCount: 0,
        },
      },
    };
  }

  /** Checks the request against the document; returns the matched operation, or null. */
  function checkRequest(req: IncomingMessage, url: URL, raw: Buffer): { op: MatchedOperation; body: unknown } | null {
    const method = req.method ?? 'GET';
    const where = `${method} ${url.pathname}`;
    const matched = matchOperation(doc, method, url.pathname);
    if (typeof matched === 'string') {
      specViolations.push(matched);
      return null;
    }
    const { operation, specPath, pathParams } = matched;

    // security: bearerAuth on every operation
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) specViolations.push(`${where}: no "Authorization: Bearer <secret key>" header`);

    const parameters = parametersOf(doc, specPath, operation);
    for (const p of parameters) {
      const name = String(p.name);
      if (p.in === 'path') {
        const errors: string[] = [];
        validate(doc, p.schema, coerceParameter(doc, p.schema, pathParams[name] ?? ''), `${where} path {${name}}`, errors, true);
        specViolations.push(...errors);
      }
      if (p.in === 'query' && p.required === true && !url.searchParams.has(name)) specViolations.push(`${where}: query parameter ${name} is required`);
    }
    for (const [name, rawValue] of url.searchParams) {
      const p = parameters.find((q) => q.in === 'query' && q.name === name);
      if (!p) {
        specViolations.push(`${where}: query parameter ${name} is not in the document`);
        continue;
      }
      validate(doc, p.schema, coerceParameter(doc, p.schema, rawValue), `${where} ?${name}`, specViolations, true);
    }

    const requestBody = isRecord(operation.requestBody) ? deref(doc, operation.requestBody) : null;
    if (!requestBody) {
      if (raw.length > 0) specViolations.push(`${where}: sends a body the document does not take`);
      return { op: matched, body: undefined };
    }
    const content = isRecord(requestBody.content) ? requestBody.content : {};
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!Object.hasOwn(content, mediaType)) {
      specViolations.push(`${where}: content-type "${mediaType}" is not one of ${Object.keys(content).join(', ')}`);
      return { op: matched, body: undefined };
    }
    if (mediaType !== 'application/json') {
      specViolations.push(`${where}: this test server checks JSON bodies only, got ${mediaType}`);
      return { op: matched, body: undefined };
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      specViolations.push(`${where}: the body is not JSON`);
      return { op: matched, body: undefined };
    }
    const media = content[mediaType];
    validate(doc, isRecord(media) ? media.schema : undefined, body, `${where} body`, specViolations, true);
    return { op: matched, body };
  }

  function checkResponse(op: MatchedOperation, reply: Reply): void {
    const responses = isRecord(op.operation.responses) ? op.operation.responses : {};
    const declared = responses[String(reply.status)] ?? responses.default;
    if (declared === undefined) {
      responseViolations.push(`${op.operationId}: HTTP ${reply.status} is not a documented answer`);
      return;
    }
    const content = deref(doc, declared).content;
    const media = isRecord(content) ? content['application/json'] : undefined;
    if (isRecord(media) && media.schema !== undefined) {
      validate(doc, media.schema, reply.body, `${op.operationId} HTTP ${reply.status}`, responseViolations, false);
    }
  }

  function dispatch(op: MatchedOperation, body: unknown, query: URLSearchParams): Reply {
    const json = isRecord(body) ? body : {};
    switch (op.operationId) {
      case 'customer_fetch':
        return customerFetch(op.pathParams);
      case 'transaction_chargeAuthorization':
        return chargeAuthorization(json);
      case 'transaction_verify':
        return verify(op.pathParams);
      case 'refund_create':
        return refundCreate(json);
      case 'refund_list':
        return refundList(query);
      default:
        specViolations.push(`${op.operationId}: valid for Paystack but not simulated here; the adapter was not expected to call it`);
        return { status: 501, body: { status: false, message: 'not simulated' } };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (reply: Reply, record: RecordedRequest) => {
      record.status = reply.status;
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(reply.body));
    };
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.search, operationId: null, body: undefined, status: 0 };
    requests.push(record);

    const checked = checkRequest(req, url, raw);
    if (!checked) return send({ status: 404, body: { status: false, message: 'Not found' } }, record);
    record.operationId = checked.op.operationId;
    record.body = checked.body;
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      return send({ status: 401, body: example(['components', 'responses', 'Unauthorized', 'content', 'application/json', 'example']) }, record);
    }

    const injected = faults.get(checked.op.operationId);
    if (injected && injected.times > 0) {
      injected.times -= 1;
      if (injected.fault === 'http_500_before') return send({ status: 500, body: { status: false, message: 'Internal server error' } }, record);
      dispatch(checked.op, checked.body, url.searchParams);
      if (injected.fault === 'http_500_after') return send({ status: 500, body: { status: false, message: 'Internal server error' } }, record);
      record.status = -1;
      res.socket?.destroy();
      return;
    }
    const reply = dispatch(checked.op, checked.body, url.searchParams);
    checkResponse(checked.op, reply);
    send(reply, record);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      specViolations.push(`test server crashed: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    secretKey,
    specViolations,
    responseViolations,
    requests,
    transactions,
    refunds,
    refundsFor: (reference) => refunds.filter((r) => r.reference === reference),
    get chargeCount() {
      return transactions.size;
    },
    transactionsFor: (workflowId) => [...transactions.values()].filter((t) => t.metadata?.workflow_id === workflowId),
    requestsTo: (operationId) => requests.filter((r) => r.operationId === operationId),
    addAuthorization: (authorization) => void authorizations.set(authorization.code, authorization),
    failNext(operationId, fault, times = 1) {
      faults.set(operationId, { fault, times });
    },
    clearFaults: () => faults.clear(),
    settle(reference, status, gatewayResponse) {
      const tx = transactions.get(reference);
      if (!tx) throw new Error(`no transaction ${reference} to settle`);
      tx.status = status;
      tx.gatewayResponse = gatewayResponse ?? (status === 'success' ? 'Approved' : status === 'failed' ? 'Declined' : 'Abandoned');
      if (status === 'success') tx.paidAt = new Date();
    },
    seedTransaction(seed) {
      const now = new Date();
      transactions.set(seed.reference, {
        id: nextId++,
        reference: seed.reference,
        authorizationCode: seed.authorizationCode,
        email: seed.email ?? DEFAULT_EMAIL,
        amount: seed.amount,
        currency: seed.currency,
        status: seed.status,
        gatewayResponse: seed.status === 'success' ? 'Approved' : 'Declined',
        paused: false,
        metadataRaw: seed.metadata ? JSON.stringify(seed.metadata) : null,
        metadata: seed.metadata ?? null,
        createdAt: now,
        paidAt: seed.status === 'success' ? now : null,
      });
    },
    webhookBody(reference, event = 'charge.success') {
      const tx = transactions.get(reference);
      if (!tx) throw new Error(`no transaction ${reference} for a webhook`);
      return JSON.stringify({ event, data: verifyData(tx) });
    },
    sign: (rawBody) => createHmac('sha512', secretKey).update(rawBody).digest('hex'),
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((err) => (err ? fail(err) : ok()));
      }),
  };
}
