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
 * NOTIFICATION_FIELDS below. Nodes of this package, IF, Set, NoOp, Stop and Error… run unchanged.
 *
 * Also here, shared by examples.e2e.ts and quickstart.e2e.ts: the checks of a test copy's run
 * (expectCleanRun, expectAlertedFailure) and the safety properties every example must have
 * (safetyProblems: staging bounded, failure branches ending in Stop and Error, RPO and
 * retention stated).
 */
import { PACKAGE_NAME } from '../../support/n8n-env';
import {
	describeExecution,
	nodeOutputs,
	ranNodes,
	succeeded,
	type Execution,
	type RawRun,
	type WorkflowJson,
} from './n8n-cli';

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

// ---------------------------------------------------------------------------------------------
// Checks of a test copy's run.

export const STOP_AND_ERROR = 'n8n-nodes-base.stopAndError';

export const ourNodes = (workflow: WorkflowJson) =>
	workflow.nodes.filter((n) => n.type.startsWith(`${PACKAGE_NAME}.`)).map((n) => n.name);

/** Names of the nodes a run of `copy` reaches from its Manual Trigger (a test copy starts from some of the triggers). */
export function reachable(copy: WorkflowJson): Set<string> {
	const connections = copy.connections as Record<string, { main?: Array<Array<{ node: string }> | null> }>;
	const start = copy.nodes.filter((n) => n.type === 'n8n-nodes-base.manualTrigger').map((n) => n.name);
	const seen = new Set<string>(start);
	const queue = [...start];
	while (queue.length) {
		for (const output of connections[queue.shift()!]?.main ?? []) {
			for (const { node } of output ?? []) {
				if (seen.has(node)) continue;
				seen.add(node);
				queue.push(node);
			}
		}
	}
	return seen;
}

export const notifications = (example: WorkflowJson) => example.nodes.filter(isNotification).map((n) => n.name);

/** Our nodes the run reached ran, and none of them (or any node but a Stop and Error) failed. */
export function expectNodesRan(run: RawRun, example: WorkflowJson, copy: WorkflowJson): void {
	const reached = reachable(copy);
	const disabled = new Set(copy.nodes.filter((n) => n.disabled).map((n) => n.name));
	for (const name of ourNodes(example).filter((n) => reached.has(n) && !disabled.has(n)))
		expect(ranNodes(run)).toContain(name);
	const stops = new Set(example.nodes.filter((n) => n.type === STOP_AND_ERROR).map((n) => n.name));
	const failedNodes = Object.entries(run.data.resultData.runData)
		.filter(([name, runs]) => !stops.has(name) && runs.some((r) => r.error))
		.map(([name, runs]) => `${name}: ${runs.find((r) => r.error)?.error?.message}`);
	expect(failedNodes).toEqual([]);
}

/** Messages sent (or none, `messageExpected: false`), every expression in them resolved. */
export function expectMessages(run: RawRun, example: WorkflowJson, messageExpected: boolean): void {
	const sent = notifications(example).filter((name) => ranNodes(run).includes(name));
	if (messageExpected) expect(sent.length).toBeGreaterThan(0);
	else expect(sent).toEqual([]);
	for (const name of sent) {
		for (const message of nodeOutputs(run, name)[0] ?? []) {
			expect(message[STAND_IN_FIELD]).toEqual(example.nodes.find((n) => n.name === name)?.type);
			for (const [field, value] of Object.entries(message)) {
				if (field === STAND_IN_FIELD) continue;
				// An expression that read a missing field shows as "undefined", "null" or "[object Object]".
				expect({ node: name, field, value }).toEqual({
					node: name,
					field,
					value: expect.not.stringMatching(/undefined|\bnull\b|\[object Object\]|^\s*$/),
				});
			}
		}
	}
}

/**
 * Checks every example's run must pass: a clean run and messages whose expressions all resolved.
 * `messageExpected: false`: an example that is quiet while all is well sent nothing.
 */
export function expectCleanRun(
	execution: Execution,
	example: WorkflowJson,
	copy: WorkflowJson,
	messageExpected = true,
): RawRun {
	const run = succeeded(execution);
	expectNodesRan(run, example, copy);
	expectMessages(run, example, messageExpected);
	return run;
}

/**
 * A run that took the failure branch: the alert went out (its expressions resolved), then the
 * branch's Stop and Error failed the execution, so n8n lists it as an error and calls the error
 * workflow. The caller checks what the error says (`run.data.resultData.error`).
 */
export function expectAlertedFailure(execution: Execution, example: WorkflowJson, copy: WorkflowJson): RawRun {
	const run = execution.run;
	if (!run) throw new Error(`n8n printed no result:\n${describeExecution(execution)}`);
	expect({ code: execution.code, status: run.status }).toEqual({ code: 1, status: 'error' });
	const stops = example.nodes.filter((n) => n.type === STOP_AND_ERROR).map((n) => n.name);
	expect(stops).toContain(run.data.resultData.lastNodeExecuted);
	expectNodesRan(run, example, copy);
	expectMessages(run, example, true);
	return run;
}

// ---------------------------------------------------------------------------------------------
// Safety properties of an example, read from its JSON (no n8n needed).

const STICKY_NOTE = 'n8n-nodes-base.stickyNote';

/**
 * The Folder Path of the examples' Prune of the staging folder: the set's location
 * (`<staging>/<environment>/<backupId>`) without its last two parts, so it follows TOTVS Dump's
 * Staging Folder, including the default one (empty = `~/.n8n-files/totvs-backups`).
 */
export const STAGING_FOLDER_EXPRESSION = "={{ $json.location.split('/').slice(0, -2).join('/') }}";

const ours = (node: Node, name: string) => node.type === `${PACKAGE_NAME}.${name}`;

/** Next nodes on each output of a node. */
function outputsOf(workflow: WorkflowJson, name: string): string[][] {
	const connections = workflow.connections as Record<string, { main?: Array<Array<{ node: string }> | null> }>;
	return (connections[name]?.main ?? []).map((output) => (output ?? []).map((c) => c.node));
}

/** Every node downstream of `from` (not `from` itself, unless in a loop). */
function downstream(workflow: WorkflowJson, from: string): Set<string> {
	const seen = new Set<string>();
	const queue = outputsOf(workflow, from).flat();
	while (queue.length) {
		const name = queue.shift()!;
		if (seen.has(name)) continue;
		seen.add(name);
		queue.push(...outputsOf(workflow, name).flat());
	}
	return seen;
}

/** A node that leaves sets in the staging folder: a dump, a download, a restore source kept after the restore. */
export function writesStaging(node: Node): boolean {
	const p = node.parameters ?? {};
	const options = (p.options ?? {}) as Record<string, unknown>;
	if (ours(node, 'totvsDump')) return true;
	if (ours(node, 'totvsUpload')) return p.operation === 'download';
	if (ours(node, 'totvsRestoreTest') || ours(node, 'totvsRestore'))
		return p.setSource === 'destination' && options.keepDownload === true;
	return false;
}

/** A TOTVS Upload Prune of the staging folder that really deletes (Dry Run off). */
export function prunesStaging(node: Node): boolean {
	const p = node.parameters ?? {};
	return (
		ours(node, 'totvsUpload') &&
		!node.disabled &&
		p.operation === 'prune' &&
		p.destination === 'local' &&
		p.localFolder === STAGING_FOLDER_EXPRESSION &&
		p.dryRun === false
	);
}

const makesOrTestsBackups = (node: Node) =>
	['totvsDump', 'totvsVerify', 'totvsUpload', 'totvsRestoreTest', 'totvsRestore'].some((name) => ours(node, name));

/**
 * The failure branches of a workflow: the output of each IF on `{{ $json.status }}` and "ok"
 * that failed items take (false for "is equal to", true for "is not equal to").
 */
export function failureBranches(workflow: WorkflowJson): Array<{ ifNode: string; output: number }> {
	return workflow.nodes
		.filter((n) => n.type === 'n8n-nodes-base.if' && !n.disabled)
		.flatMap((n) => {
			const conditions = ((n.parameters?.conditions ?? {}) as { conditions?: unknown[] }).conditions ?? [];
			return (conditions as Array<{ leftValue?: unknown; rightValue?: unknown; operator?: { operation?: string } }>)
				.filter((c) => String(c.leftValue).includes('$json.status') && c.rightValue === 'ok')
				.map((c) => ({ ifNode: n.name, output: c.operator?.operation === 'notEquals' ? 0 : 1 }));
		});
}

/** Every path (node names) from the nodes on one output of `from` to a node with nothing after it. */
function pathsFrom(workflow: WorkflowJson, from: string, output: number): string[][] {
	const paths: string[][] = [];
	const walk = (path: string[]) => {
		const next = outputsOf(workflow, path[path.length - 1]).flat();
		if (!next.length) paths.push(path);
		for (const name of next) if (!path.includes(name)) walk([...path, name]);
	};
	for (const name of outputsOf(workflow, from)[output] ?? []) walk([name]);
	return paths;
}

/**
 * What makes an example unsafe to import as is, one sentence each (empty: none):
 * - a node that writes the staging folder with no Prune of that folder after it (the disk fills);
 * - in a workflow that makes or tests backups: no failure branch, or one that does not end, after
 *   an alert, in a Stop and Error (its TOTVS nodes continue on error, so n8n would list a failed
 *   backup as "Succeeded" and never call the error workflow);
 * - no sticky note stating the RPO and the retention; a Prune without a note on Dry Run.
 * Monitoring workflows (TOTVS Monitor only) alert as their job: their alert branch is no failure.
 */
export function safetyProblems(workflow: WorkflowJson): string[] {
	const problems: string[] = [];
	const nodes = workflow.nodes.filter((n) => !n.disabled);
	const byName = new Map(workflow.nodes.map((n) => [n.name, n]));
	for (const writer of nodes.filter(writesStaging)) {
		const after = downstream(workflow, writer.name);
		if (!nodes.some((n) => prunesStaging(n) && after.has(n.name)))
			problems.push(
				`"${writer.name}" writes the staging folder, but no Prune of it (Local / Network Folder, Folder Path ${STAGING_FOLDER_EXPRESSION}, Dry Run off) follows`,
			);
	}
	if (nodes.some(makesOrTestsBackups)) {
		for (const node of nodes.filter(makesOrTestsBackups))
			if (node.onError !== 'continueRegularOutput')
				problems.push(`"${node.name}" does not continue on error: a failure would skip the alert`);
		const branches = failureBranches(workflow);
		if (!branches.length) problems.push('no IF on `status` = ok: a failed backup reaches no alert');
		for (const { ifNode, output } of branches) {
			const paths = pathsFrom(workflow, ifNode, output);
			if (!paths.length) problems.push(`the failure branch of "${ifNode}" is empty`);
			for (const path of paths) {
				const last = byName.get(path[path.length - 1]);
				if (!last)
					problems.push(`the failure branch of "${ifNode}" leads to "${path[path.length - 1]}", which is not a node`);
				else if (last.type !== STOP_AND_ERROR)
					problems.push(`the failure branch of "${ifNode}" ends in "${last.name}", not in a Stop and Error`);
				else if (!path.some((name) => byName.has(name) && isNotification(byName.get(name)!)))
					problems.push(`the failure branch of "${ifNode}" reaches "${last.name}" without an alert before it`);
			}
		}
	}
	const notes = workflow.nodes
		.filter((n) => n.type === STICKY_NOTE)
		.map((n) => String(n.parameters?.content ?? ''))
		.join('\n');
	if (!/\bRPO\b/.test(notes) || !/retention/i.test(notes))
		problems.push('no sticky note states the RPO and the retention');
	if (nodes.some((n) => ours(n, 'totvsUpload') && n.parameters?.operation === 'prune') && !/Dry Run/.test(notes))
		problems.push('a Prune is used, but no sticky note explains its Dry Run (on by default)');
	return problems;
}
