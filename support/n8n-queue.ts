/**
 * n8n in queue mode (how n8n scales past one machine): one main instance that receives webhooks
 * and enqueues executions in Redis, and `n8n worker` processes that take them. All share one
 * user folder (so one SQLite database, one encryption key and the community package installed
 * once) and Redis; each worker has its own task-broker and health-check ports.
 *
 * Facts this relies on (/work/shared/N8N.md): workflows are activated with `n8n update:workflow
 * --active=true` BEFORE main starts; their webhooks are registered in the background after the
 * REST API answers (a call before that gets 404). n8n warns that queue mode on SQLite is
 * unsupported; it is enough for tests on one machine.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
	ActivityWatch,
	freePortPair,
	machineState,
	n8nCli,
	newInstance,
	outputTail,
	probeAnswer,
	startN8n,
	PROBE_TIMEOUT_MS,
	type N8nInstall,
	type N8nInstance,
	type RunningN8n,
} from './n8n-env';
import { freePort } from './postgres';

export interface QueueWorker {
	index: number;
	instance: N8nInstance;
	process: ChildProcess;
	pid: number;
	healthPort: number;
	/** Everything this worker printed, over all its lives (restarts append). */
	output(): string;
	/** Execution ids this worker logged as started ("Worker started execution <id> (job <n>)"). */
	startedExecutions(): string[];
	alive(): boolean;
	kill(signal: NodeJS.Signals): Promise<void>;
}

export interface QueueCluster {
	main: RunningN8n;
	mainInstance: N8nInstance;
	workers: QueueWorker[];
	/** Starts worker `index` again (after a kill), same ports and folder. */
	restartWorker(index: number): Promise<QueueWorker>;
	stop(): Promise<void>;
}

export interface QueueClusterOptions {
	install: N8nInstall;
	/** Shared by main and every worker; the community package must already be installed in it. */
	userFolder: string;
	redis: { host: string; port: number };
	workers: number;
	/** Jobs one worker runs at once (`n8n worker --concurrency`). */
	concurrency: number;
	/** Runs against the main instance's identity before anything starts (import, activate). */
	prepare?: (main: N8nInstance) => Promise<void>;
	extraEnv?: Record<string, string>;
}

function queueEnv(options: QueueClusterOptions): Record<string, string> {
	return {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: options.redis.host,
		QUEUE_BULL_REDIS_PORT: String(options.redis.port),
		// The expression engine's isolate pool makes n8n 2.40.7 crash at exit now and then (N8N.md).
		N8N_EXPRESSION_ENGINE: 'legacy',
		...options.extraEnv,
	};
}

const WORKER_STARTED = /Worker started execution (\d+)/g;

async function startWorker(
	index: number,
	instance: N8nInstance,
	healthPort: number,
	concurrency: number,
	previous = '',
) {
	const child = spawn(instance.install.nodeBin, [instance.install.n8nBin, 'worker', `--concurrency=${concurrency}`], {
		env: instance.env,
		cwd: instance.userFolder,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = previous;
	const append = (d: Buffer) => (output += d.toString());
	child.stdout.on('data', append);
	child.stderr.on('data', append);
	let exited = false;
	const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
	const killOnExit = () => child.kill('SIGKILL');
	process.once('exit', killOnExit);
	// A test runner killed itself (SIGKILL, a CI limit) runs no exit handler: a watchdog stops the worker then.
	spawn(
		'/bin/sh',
		[
			'-c',
			'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null',
			'worker-watchdog',
			String(process.pid),
			String(child.pid),
		],
		{ detached: true, stdio: 'ignore' },
	).unref();
	const worker: QueueWorker = {
		index,
		instance,
		process: child,
		pid: child.pid ?? -1,
		healthPort,
		output: () => output,
		startedExecutions: () => [...output.matchAll(WORKER_STARTED)].map((m) => m[1]),
		alive: () => !exited,
		async kill(signal) {
			process.removeListener('exit', killOnExit);
			if (exited) return;
			child.kill(signal);
			const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
			await exitedPromise;
			clearTimeout(timer);
		},
	};
	// Ready when its health endpoint says so: it answers only once the worker is connected to the
	// database and Redis. A stalled start (no output, no CPU) fails with what it printed.
	const watch = new ActivityWatch(worker.pid, { idleMs: 5 * 60_000, maxMs: 20 * 60_000 });
	child.stdout.on('data', () => watch.output());
	child.stderr.on('data', () => watch.output());
	let sampled = Date.now();
	let last = 'no answer yet';
	for (;;) {
		const probe = await probeAnswer(`http://127.0.0.1:${healthPort}/healthz/readiness`, (r) => r.ok);
		last = probe.said;
		if (probe.ready) return worker;
		if (exited)
			throw new Error(
				`n8n worker ${index} exited while starting (last readiness probe: ${last}; ${machineState()}):\n${outputTail(output)}`,
			);
		if (Date.now() - sampled > 10_000) {
			sampled = Date.now();
			watch.sample();
		}
		const stalled = watch.stalled();
		if (stalled) {
			await worker.kill('SIGTERM');
			throw new Error(
				`n8n worker ${index} did not get ready (waited for its health check on port ${healthPort} to answer /healthz/readiness): ${stalled}; last probe: ${last}:\n${outputTail(output)}`,
			);
		}
		await new Promise((r) => setTimeout(r, 500));
	}
}

export async function startQueueCluster(options: QueueClusterOptions): Promise<QueueCluster> {
	const encryptionKey = randomBytes(24).toString('hex');
	const env = queueEnv(options);
	const mainInstance = await newInstance(options.install, {
		userFolder: options.userFolder,
		encryptionKey,
		extraEnv: env,
	});
	await options.prepare?.(mainInstance);
	const workerInstances: Array<{ instance: N8nInstance; healthPort: number }> = [];
	for (let i = 0; i < options.workers; i++) {
		const healthPort = await freePort();
		const instance = await newInstance(options.install, {
			userFolder: options.userFolder,
			encryptionKey,
			port: await freePortPair(),
			extraEnv: { ...env, QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(healthPort) },
		});
		workerInstances.push({ instance, healthPort });
	}
	// Main first: it runs the database migrations; workers started meanwhile would race them.
	const main = await startN8n(mainInstance);
	const workers: QueueWorker[] = [];
	try {
		for (const [i, w] of workerInstances.entries())
			workers.push(await startWorker(i, w.instance, w.healthPort, options.concurrency));
	} catch (error) {
		await Promise.all(workers.map((w) => w.kill('SIGTERM')));
		await main.stop();
		throw error;
	}
	return {
		main,
		mainInstance,
		workers,
		async restartWorker(index) {
			const old = workers[index];
			if (old.alive()) await old.kill('SIGTERM');
			const { instance, healthPort } = workerInstances[index];
			workers[index] = await startWorker(
				index,
				instance,
				healthPort,
				options.concurrency,
				`${old.output()}\n[test harness: worker ${index} restarted]\n`,
			);
			return workers[index];
		},
		async stop() {
			await Promise.all(workers.map((w) => w.kill('SIGTERM')));
			await main.stop();
		},
	};
}

/** `n8n update:workflow --id=<id> --active=true` (before main starts: see the file comment). */
export async function activateWorkflow(instance: N8nInstance, id: string): Promise<void> {
	const result = await n8nCli(instance, ['update:workflow', `--id=${id}`, '--active=true']);
	if (result.code !== 0)
		throw new Error(
			`n8n update:workflow --id=${id} --active=true failed (exit ${result.code}):\n${outputTail(result.stdout + result.stderr)}`,
		);
}

/**
 * Waits until main has registered the webhook at `path`: a request with another method then
 * answers "Did you mean to make a <method> request?" instead of 404 (unknown webhook).
 */
export async function waitForWebhook(url: string, path: string, timeoutMs = 5 * 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	while (Date.now() < deadline) {
		const res = await fetch(`${url}/webhook/${path}`, {
			method: 'DELETE',
			signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
		}).catch(() => undefined);
		last = res ? `${res.status} ${(await res.text()).slice(0, 200)}` : 'no answer';
		if (last.includes('Did you mean')) return;
		await new Promise((r) => setTimeout(r, 500));
	}
	throw new Error(`webhook ${path} was not registered on ${url} within ${timeoutMs / 1000} s (last answer: ${last})`);
}

export interface WebhookAnswer {
	status: number;
	body: unknown;
	text: string;
	ms: number;
}

/** POSTs to a production webhook and waits for the workflow's answer (response mode "last node"). */
export async function callWebhook(url: string, path: string, body: unknown = {}): Promise<WebhookAnswer> {
	const started = Date.now();
	const res = await fetch(`${url}/webhook/${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30 * 60_000),
	});
	const text = await res.text();
	let parsed: unknown = text;
	try {
		parsed = JSON.parse(text);
	} catch {
		// not JSON (an error page)
	}
	return { status: res.status, body: parsed, text, ms: Date.now() - started };
}

export interface StoredExecution {
	id: string;
	workflowId: string;
	status: string;
	finished: boolean;
	/** n8n's serialized run data (flatted JSON text). */
	data: string;
}

/**
 * The executions n8n stored in its SQLite database, and the names of its tables, read with Node
 * 24's built-in node:sqlite (read-only; n8n may be running).
 */
export function readN8nDatabase(
	install: N8nInstall,
	userFolder: string,
): { executions: StoredExecution[]; tables: string[] } {
	const script = `
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(process.argv[1], { readOnly: true });
const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name);
const executions = db.prepare('SELECT e.id, e.workflowId, e.status, e.finished, d.data FROM execution_entity e LEFT JOIN execution_data d ON d.executionId = e.id ORDER BY e.id').all()
	.map((r) => ({ id: String(r.id), workflowId: r.workflowId, status: r.status, finished: !!r.finished, data: r.data ?? '' }));
process.stdout.write(JSON.stringify({ tables, executions }));
`;
	const out = execFileSync(install.nodeBin, ['--no-warnings', '-e', script, `${userFolder}/.n8n/database.sqlite`], {
		encoding: 'utf8',
		maxBuffer: 256 << 20,
	});
	return JSON.parse(out) as { executions: StoredExecution[]; tables: string[] };
}
