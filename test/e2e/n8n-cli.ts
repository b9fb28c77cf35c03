/**
 * Drives a real n8n (installed by support/n8n-env.ts, package installed by global-setup.ts)
 * through its CLI, the way an administrator would: import credentials, import a workflow,
 * `n8n execute --id … --rawOutput`, read the JSON.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	copyCommunityPackages,
	ensureN8n,
	importCredentials as importCredentialsFile,
	importWorkflow as importWorkflowFile,
	CRASH_SIGNALS,
	n8nCli,
	newInstance,
	outputTail,
	parseRawOutput,
	splitRawOutput,
	type CredentialToImport,
	type N8nInstance,
} from '../../support/n8n-env';

export type { CredentialToImport };

/** Set by global-setup.ts: a user folder whose .n8n/nodes holds the packed package. */
export const TEMPLATE_ENV = 'TOTVS_E2E_TEMPLATE_USER_FOLDER';

/** Timings of every CLI call of this test file, printed at the end for the report. */
export const timings: Array<{ what: string; ms: number }> = [];

/** A fresh n8n instance (own user folder, SQLite database, key, ports) with our package installed. */
export async function freshInstance(label: string): Promise<N8nInstance> {
	const template = process.env[TEMPLATE_ENV];
	if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run the e2e tests with \`npm run test:e2e\`.`);
	const userFolder = mkdtempSync(path.join(os.tmpdir(), `totvs-e2e-${label}-`));
	copyCommunityPackages(template, userFolder);
	return newInstance(ensureN8n(), { userFolder });
}

async function cli(instance: N8nInstance, what: string, args: string[]) {
	const result = await n8nCli(instance, args);
	timings.push({ what, ms: result.ms });
	return result;
}

export async function importCredentials(instance: N8nInstance, credentials: CredentialToImport[]): Promise<void> {
	timings.push({ what: 'import:credentials', ms: (await importCredentialsFile(instance, credentials)).ms });
}

export interface WorkflowJson {
	id: string;
	name: string;
	nodes: Array<Record<string, unknown> & { name: string; type: string; parameters?: Record<string, unknown> }>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export async function importWorkflow(instance: N8nInstance, workflow: WorkflowJson): Promise<void> {
	timings.push({ what: `import:workflow ${workflow.name}`, ms: (await importWorkflowFile(instance, workflow)).ms });
}

/** What `--rawOutput` prints: n8n's IRun. Only the parts the tests read are typed. */
export interface RawRun {
	finished?: boolean;
	status?: string;
	data: {
		resultData: {
			error?: { message?: string; description?: string };
			lastNodeExecuted?: string;
			runData: Record<
				string,
				Array<{
					error?: { message?: string; description?: string };
					data?: { main?: Array<Array<{ json: Record<string, unknown> }> | null> };
				}>
			>;
		};
	};
}

export interface Execution {
	code: number;
	stdout: string;
	stderr: string;
	ms: number;
	/** Who stopped n8n and why, when it did not exit by itself. */
	killed?: string;
	/** Parsed JSON output (undefined when n8n printed none, e.g. an unknown node type). */
	run?: RawRun;
}

/**
 * `n8n execute` of n8n 2.40.7 on Node 24 sometimes crashes with SIGSEGV while it EXITS, after
 * printing its complete result: process.exit() runs isolated-vm's static destructors while an
 * isolate of n8n's expression engine (N8N_EXPRESSION_ENGINE=vm, the default) is still being
 * created in the background to refill its pool (gdb: ivm::thread_pool_t::~thread_pool_t joining
 * a thread inside v8::internal::Heap; it happens with a Manual Trigger → No Op workflow and no
 * community package: 9 of 25 runs here, none of 8 with N8N_EXPRESSION_ENGINE=legacy). Such a run's result is
 * complete and is used, with the exit code n8n had chosen (1 when the execution has an error,
 * as its execute command does), and the crash is recorded and printed; a crash before the
 * result is complete stays a failure.
 */
export const crashesOnExit: string[] = [];

export async function executeWorkflow(instance: N8nInstance, workflow: WorkflowJson): Promise<Execution> {
	const result = await cli(instance, `execute ${workflow.name}`, ['execute', `--id=${workflow.id}`, '--rawOutput']);
	let run: RawRun | undefined;
	try {
		run = parseRawOutput(result.stdout) as RawRun;
	} catch {
		run = undefined;
	}
	const complete = run !== undefined && typeof run.finished === 'boolean' && typeof run.status === 'string';
	if (complete && result.signal && CRASH_SIGNALS.includes(result.signal)) {
		const note = `${workflow.name}: n8n ${result.killed} AFTER printing its complete result (status ${run!.status}); result used`;
		crashesOnExit.push(note);
		timings[timings.length - 1].what += ` [crashed on exit with ${result.signal}, result complete]`;
		console.warn(`${note}. n8n's stderr (tail):\n${outputTail(result.stderr, 15)}`);
		return { ...result, code: run!.data.resultData.error ? 1 : 0, run };
	}
	return { ...result, run };
}

/** Items a node emitted on each output (index 0 = first output), from its last run. */
export function nodeOutputs(run: RawRun, node: string): Array<Array<Record<string, unknown>>> {
	const runs = run.data.resultData.runData[node];
	if (!runs?.length) return [];
	const main = runs[runs.length - 1].data?.main ?? [];
	return main.map((items) => (items ?? []).map((item) => item.json));
}

export function ranNodes(run: RawRun): string[] {
	return Object.keys(run.data.resultData.runData);
}

/** A readable explanation of a failed execution, for assertion messages: how it ended and the tail of n8n's output. */
export function describeExecution(execution: Execution): string {
	const error = execution.run?.data.resultData.error;
	return [
		`exit ${execution.code} after ${Math.round(execution.ms / 1000)} s${execution.killed ? ` (${execution.killed})` : ''}`,
		error ? `error: ${error.message} ${error.description ?? ''}` : '',
		// n8n's log lines, without the (long) JSON result when there is one.
		`--- stdout (tail) ---\n${outputTail(splitRawOutput(execution.stdout).log)}`,
		`--- stderr (tail) ---\n${outputTail(execution.stderr)}`,
	]
		.filter(Boolean)
		.join('\n');
}

/** The run of an execution that exited 0 without a workflow error; otherwise throws with n8n's output. */
export function succeeded(execution: Execution): RawRun {
	if (execution.code !== 0 || !execution.run || execution.run.data.resultData.error) {
		throw new Error(`n8n execute did not succeed:\n${describeExecution(execution)}`);
	}
	return execution.run;
}

export function printTimings(file: string): void {
	const lines = timings.map((t) => `  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.what}`);
	if (crashesOnExit.length)
		lines.push(`  n8n crashed on exit after a complete result ${crashesOnExit.length} time(s) (see executeWorkflow)`);
	// The report reads these; jest shows console output of each file.
	console.log(`n8n CLI timings (${file}):\n${lines.join('\n')}`);
}
