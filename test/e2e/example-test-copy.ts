/**
 * Turns an example workflow (examples/*.json, what users import) into the copy the e2e test
 * runs: same nodes, same parameters, same expressions, with only what cannot run here swapped.
 *
 * - Triggers (`n8n execute` needs a Manual Trigger): a Manual Trigger is added, and each trigger
 *   node becomes a Set node of the SAME name (so connections and `$('…')` references still work)
 *   emitting what that trigger would emit (the Error Trigger's error report, for example).
 * - Notifications (Slack, email, …): a Set node of the same name that evaluates the original's
 *   message fields (its expressions run for real) and outputs them, so the test can read the
 *   message that would have been sent. A Respond to Webhook node is one too: its response body
 *   is the message (outside a webhook call n8n's node has no caller to answer and refuses to run).
 * - Credentials: references are kept; the test imports credentials with the same ids, pointing
 *   at servers on loopback (see `credentialsFor` in examples.e2e.ts).
 *
 * Adding a trigger or a notification node to an example: add its type to TRIGGER_STAND_INS or
 * NOTIFICATION_FIELDS below. Nodes of this package, IF, Set, NoOp… run unchanged.
 */
import type { WorkflowJson } from './n8n-cli';

export const MANUAL_TRIGGER_NAME = 'Test start (Manual Trigger)';

/** What a stand-in notification outputs besides the message fields: the type it replaces. */
export const STAND_IN_FIELD = 'standInFor';

/** Message fields of each notification node type: copied, expressions and all, into the stand-in. */
export const NOTIFICATION_FIELDS: Record<string, string[]> = {
	'n8n-nodes-base.slack': ['text'],
	'n8n-nodes-base.emailSend': ['toEmail', 'subject', 'text', 'html'],
	'n8n-nodes-base.microsoftTeams': ['message'],
	'n8n-nodes-base.telegram': ['text'],
	'n8n-nodes-base.respondToWebhook': ['responseBody'],
};

/** A sample of what n8n's Error Trigger emits when a workflow fails (see n8n's docs on error workflows). */
export const SAMPLE_WORKFLOW_ERROR = {
	execution: {
		id: '231',
		url: 'http://localhost:5678/workflow/TotvsNightlyPg01/executions/231',
		retryOf: null,
		error: { message: 'Connection lost to the n8n database during the run', stack: 'Error: Connection lost' },
		lastNodeExecuted: 'TOTVS Dump',
		mode: 'trigger',
	},
	workflow: { id: 'TotvsNightlyPg01', name: 'TOTVS nightly backup (PostgreSQL) off-site, with Slack alerts' },
};

/** What n8n's Webhook node (v2) emits for a GET such as Prometheus' scrape. */
export const SAMPLE_WEBHOOK_CALL = {
	headers: { host: '127.0.0.1:5678', 'user-agent': 'Prometheus/2.42.0', accept: 'text/plain;version=0.0.4' },
	params: {},
	query: {},
	body: {},
	webhookUrl: 'http://127.0.0.1:5678/webhook/totvs-backup-metrics',
	executionMode: 'production',
};

/** Trigger types and the JSON their stand-in emits (undefined: pass the Manual Trigger's item on). */
export const TRIGGER_STAND_INS: Record<string, Record<string, unknown> | undefined> = {
	'n8n-nodes-base.webhook': SAMPLE_WEBHOOK_CALL,
	'n8n-nodes-base.scheduleTrigger': undefined,
	'n8n-nodes-base.cron': undefined,
	'n8n-nodes-base.interval': undefined,
	'n8n-nodes-base.errorTrigger': SAMPLE_WORKFLOW_ERROR,
};

type Node = WorkflowJson['nodes'][number];

function setNode(original: Node, parameters: Record<string, unknown>): Node {
	return {
		id: original.id,
		name: original.name,
		type: 'n8n-nodes-base.set',
		typeVersion: 3.4,
		position: original.position,
		parameters: { ...parameters, options: {} },
	};
}

function triggerStandIn(original: Node): Node {
	const output = TRIGGER_STAND_INS[original.type];
	if (output === undefined) {
		return {
			id: original.id,
			name: original.name,
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: original.position,
			parameters: {},
		};
	}
	return setNode(original, { mode: 'raw', jsonOutput: JSON.stringify(output, null, 2) });
}

function notificationStandIn(original: Node): Node {
	const fields = NOTIFICATION_FIELDS[original.type];
	const assignments = [
		{ id: 'stand-in-for', name: STAND_IN_FIELD, value: original.type, type: 'string' },
		...fields
			.filter((field) => typeof original.parameters?.[field] === 'string')
			.map((field) => ({ id: `field-${field}`, name: field, value: original.parameters![field], type: 'string' })),
	];
	return setNode(original, { mode: 'manual', assignments: { assignments }, includeOtherFields: false });
}

export function isTrigger(node: Node): boolean {
	return node.type in TRIGGER_STAND_INS;
}

export function isNotification(node: Node): boolean {
	return node.type in NOTIFICATION_FIELDS;
}

export interface TestCopyOptions {
	/** Default: the example's id (several copies of one example need their own). */
	id?: string;
	name?: string;
	/**
	 * The triggers this run starts from, by name (default: all of them). An example with two
	 * schedules (hourly incremental, nightly full) is run once per schedule.
	 */
	startFrom?: string[];
}

/** The runnable test copy of an example. */
export function testCopy(example: WorkflowJson, overrides: TestCopyOptions = {}): WorkflowJson {
	const allTriggers = example.nodes.filter(isTrigger);
	const unknownStart = (overrides.startFrom ?? []).filter((name) => !allTriggers.some((t) => t.name === name));
	if (unknownStart.length) throw new Error(`${example.name}: no trigger named ${unknownStart.join(', ')}`);
	const triggers = overrides.startFrom ? allTriggers.filter((t) => overrides.startFrom!.includes(t.name)) : allTriggers;
	const unknownTriggers = example.nodes.filter(
		(n) => /trigger$/i.test(n.type) && !isTrigger(n) && n.type !== 'n8n-nodes-base.manualTrigger',
	);
	if (unknownTriggers.length) {
		throw new Error(
			`${example.name}: no test stand-in for ${unknownTriggers.map((n) => n.type).join(', ')}: add it to TRIGGER_STAND_INS.`,
		);
	}
	const nodes = example.nodes.map((node) =>
		isTrigger(node) ? triggerStandIn(node) : isNotification(node) ? notificationStandIn(node) : node,
	);
	const connections: Record<string, unknown> = { ...example.connections };
	if (triggers.length) {
		nodes.push({
			id: 'e2e-manual-trigger',
			name: MANUAL_TRIGGER_NAME,
			type: 'n8n-nodes-base.manualTrigger',
			typeVersion: 1,
			position: [-300, 280],
			parameters: {},
		});
		connections[MANUAL_TRIGGER_NAME] = { main: [triggers.map((t) => ({ node: t.name, type: 'main', index: 0 }))] };
	}
	// The test copy must not call another workflow when it fails.
	const settings = { ...example.settings };
	delete settings.errorWorkflow;
	return {
		...example,
		id: overrides.id ?? example.id,
		name: overrides.name ?? `${example.name} (e2e test copy)`,
		nodes,
		connections,
		settings,
		active: false,
	};
}
