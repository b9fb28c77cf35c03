/**
 * This package in n8n's queue mode, as a provider backing up many TOTVS environments would run
 * it: Redis, one n8n main (webhooks enqueue executions) and two `n8n worker` processes sharing
 * one user folder (the package installed once) and one staging folder. Executions are started
 * only through main's webhooks; the test reads the results from the webhook answers, the
 * workers' logs, the SFTP server's disk and n8n's own database. Faults: a worker killed with
 * SIGKILL mid-upload and another mid-dump, a lock held by someone else, Redis restarted between
 * executions.
 *
 * The tests run in order and share the cluster (starting it costs about a minute).
 */
import { createHash, randomUUID } from 'node:crypto';
import {
	chownSync,
	createReadStream,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { daemonUnavailable } from '../../support/daemons';
import { copyCommunityPackages, ensureN8n, importCredentials, n8nCli } from '../../support/n8n-env';
import {
	activateWorkflow,
	callWebhook,
	readN8nDatabase,
	startQueueCluster,
	waitForWebhook,
	type QueueCluster,
	type QueueWorker,
	type WebhookAnswer,
} from '../../support/n8n-queue';
import { REDIS_SERVER, startRedis, type RedisServer } from '../../support/redis';
import { sharedPostgres } from '../../support/shared-postgres';
import { TEMPLATE_ENV } from '../e2e/n8n-cli';
import { DUMP_TYPE, UPLOAD_TYPE, VERIFY_TYPE } from '../e2e/node-types';
import { createProtheusSource, startSftpDestination, type ProtheusSource, type SftpDestination } from '../e2e/sources';

const unavailable =
	daemonUnavailable('/usr/sbin/sshd', 'openssh-server') ?? daemonUnavailable(REDIS_SERVER, 'redis-server');
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`queue-mode e2e: skipped: ${unavailable}`);

const NIGHTLY_ENVS = ['q-env1', 'q-env2', 'q-env3', 'q-env4'];
const SAME_ENV = 'q-same';
const BIG_ENV = 'q-big';
const SRC = 'QueueSource00001';
const BIG_SRC = 'QueueBigSource01';
const SFTP = 'QueueSftp0000001';
const SLOW_SFTP = 'QueueSlowSftp001';
/** The big source behind a throttled link, so a worker can be killed mid-dump. */
const SLOW_SRC = 'QueueSlowSource1';
const DUMP_KILL_ENV = 'q-dumpkill';
/** Server -> pg_dump throttle of SLOW_SRC: the ~50 MiB dump then takes tens of seconds. */
const SLOW_DUMP_BYTES_PER_SECOND = 2 * 1024 * 1024;
/** Upload throttle of the "slow" SFTP credential, so a worker can be killed mid-upload. */
const SLOW_BYTES_PER_SECOND = 3 * 1024 * 1024;
const BIG_TABLE_MB = 48;

type Node = Record<string, unknown> & { name: string; type: string; parameters: Record<string, unknown> };

function webhookNode(hookPath: string): Node {
	return {
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		webhookId: randomUUID(),
		parameters: {
			httpMethod: 'POST',
			path: hookPath,
			responseMode: 'lastNode',
			responseData: 'allEntries',
			options: {},
		},
	};
}

function chain(id: string, name: string, nodes: Node[]) {
	return {
		id,
		name,
		active: false,
		nodes: nodes.map((node, i) => ({ id: `${id}-${i}`, typeVersion: 1, position: [i * 220, 0], ...node })),
		connections: Object.fromEntries(
			nodes
				.slice(0, -1)
				.map((node, i) => [node.name, { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] }]),
		),
		settings: { executionOrder: 'v1' },
	};
}

let staging: string;
const dump = (environment: string, credential: string): Node => ({
	name: 'TOTVS Dump',
	type: DUMP_TYPE,
	parameters: { source: 'postgres', environment, stagingFolder: staging, options: {} },
	credentials: { totvsPostgres: { id: credential, name: credential } },
});
const verify: Node = {
	name: 'TOTVS Verify',
	type: VERIFY_TYPE,
	parameters: { setFolder: '={{ $json.location }}', options: {} },
};
const upload = (
	credential: string,
	setFolder = '={{ $json.location }}',
	options: Record<string, unknown> = {},
): Node => ({
	name: 'TOTVS Upload',
	type: UPLOAD_TYPE,
	parameters: { destination: 'sftp', operation: 'upload', setFolder, options: { waitForLockSeconds: 300, ...options } },
	credentials: { totvsSftp: { id: credential, name: credential } },
});
const prune = (
	environment: string,
	options: Record<string, unknown> = {},
	where: { destination: 'sftp' } | { destination: 'local'; localFolder: string } = { destination: 'sftp' },
): Node => ({
	name: 'TOTVS Upload',
	type: UPLOAD_TYPE,
	...(where.destination === 'sftp' ? { credentials: { totvsSftp: { id: SFTP, name: SFTP } } } : {}),
	parameters: {
		...where,
		operation: 'prune',
		environment,
		dryRun: false,
		keepLast: 100,
		keepDaily: 0,
		keepWeekly: 0,
		keepMonthly: 0,
		keepYearly: 0,
		minimumAgeDays: 0,
		options: { waitForLockSeconds: 300, unfinishedAfterHours: 0, ...options },
	},
});

const workflows = () => [
	...NIGHTLY_ENVS.map((env, i) =>
		chain(`QueueNightly${i + 1}`, `nightly ${env}`, [
			webhookNode(`nightly-${env}`),
			dump(env, SRC),
			verify,
			upload(SFTP),
		]),
	),
	chain('QueueSameDump01', 'dump q-same', [webhookNode('dump-same'), dump(SAME_ENV, SRC), verify]),
	chain('QueueSameUpload1', 'upload a set', [webhookNode('upload-set'), upload(SFTP, '={{ $json.body.setFolder }}')]),
	chain('QueueUploadShort', 'upload, short lock wait', [
		webhookNode('upload-short'),
		upload(SFTP, '={{ $json.body.setFolder }}', { waitForLockSeconds: 4 }),
	]),
	chain('QueueSamePrune01', 'prune q-same', [webhookNode('prune-same'), prune(SAME_ENV)]),
	chain('QueueBigNightly1', 'nightly q-big (slow SFTP)', [
		webhookNode('nightly-big'),
		dump(BIG_ENV, BIG_SRC),
		verify,
		upload(SLOW_SFTP),
	]),
	chain('QueueBigPrune001', 'prune q-big', [webhookNode('prune-big'), prune(BIG_ENV)]),
	chain('QueueDumpKill001', 'nightly q-dumpkill (slow source)', [
		webhookNode('nightly-dumpkill'),
		dump(DUMP_KILL_ENV, SLOW_SRC),
		verify,
		upload(SFTP),
	]),
	chain('QueueDumpKillPrn', 'prune q-dumpkill in the staging folder', [
		webhookNode('prune-staging-dumpkill'),
		prune(DUMP_KILL_ENV, {}, { destination: 'local', localFolder: staging }),
	]),
];
const HOOKS = [
	...NIGHTLY_ENVS.map((env) => `nightly-${env}`),
	'dump-same',
	'upload-set',
	'upload-short',
	'prune-same',
	'nightly-big',
	'prune-big',
	'nightly-dumpkill',
	'prune-staging-dumpkill',
];

/**
 * A loopback TCP proxy that passes at most `bytesPerSecond` in one direction (a slow WAN link):
 * 'up' throttles client -> server (an upload), 'down' server -> client (a dump read from far away).
 */
async function startThrottle(
	target: number,
	bytesPerSecond: number,
	direction: 'up' | 'down' = 'up',
): Promise<{ port: number; stop(): Promise<void> }> {
	const sockets = new Set<net.Socket>();
	const server = net.createServer((client) => {
		const upstream = net.connect(target, '127.0.0.1');
		sockets.add(client).add(upstream);
		const [from, to] = direction === 'up' ? [client, upstream] : [upstream, client];
		const tick = 50;
		const budget = Math.max(1, bytesPerSecond / (1000 / tick));
		const queue: Buffer[] = [];
		const timer = setInterval(() => {
			let allowance = budget;
			while (queue.length && allowance > 0) {
				const chunk = queue[0];
				const n = Math.min(chunk.length, allowance);
				to.write(chunk.subarray(0, n));
				allowance -= n;
				if (n === chunk.length) queue.shift();
				else queue[0] = chunk.subarray(n);
			}
			if (queue.length < 64) from.resume();
		}, tick);
		from.on('data', (d: Buffer) => {
			queue.push(d);
			if (queue.length >= 64) from.pause();
		});
		to.pipe(from);
		const close = () => {
			clearInterval(timer);
			client.destroy();
			upstream.destroy();
		};
		client.on('close', close).on('error', close);
		upstream.on('close', close).on('error', close);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		port: (server.address() as net.AddressInfo).port,
		stop: async () => {
			for (const s of sockets) s.destroy();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

async function sha256(file: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
	if (!existsSync(dir)) return [];
	return (readdirSync(dir, { recursive: true }) as string[])
		.filter((rel) => statSync(path.join(dir, rel)).isFile())
		.sort();
}

function firstItem(answer: WebhookAnswer): Record<string, unknown> {
	if (answer.status !== 200 || !Array.isArray(answer.body))
		throw new Error(`webhook answered ${answer.status}: ${answer.text.slice(0, 2000)}`);
	return answer.body[0] as Record<string, unknown>;
}

/** Execution ids each worker started since `before` (a snapshot of startedExecutions()). */
function startedSince(workers: QueueWorker[], before: string[][]): string[][] {
	return workers.map((w, i) => w.startedExecutions().filter((id) => !before[i]?.includes(id)));
}
const snapshot = (workers: QueueWorker[]) => workers.map((w) => w.startedExecutions());

/** pid and all its descendants (from /proc), so a kill takes the worker's ssh/pg_dump children too, like a host crash. */
function processTree(pid: number): number[] {
	const parents = new Map<number, number>();
	for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
		try {
			const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
			parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
		} catch {
			// exited
		}
	}
	const tree = [pid];
	for (let i = 0; i < tree.length; i++) for (const [child, ppid] of parents) if (ppid === tree[i]) tree.push(child);
	return tree;
}

/** Our OpenSSH temporary folders (key material inside) whose owner record names `pid`. */
function sftpTempFoldersOf(pid: number): string[] {
	return readdirSync(os.tmpdir())
		.filter((n) => n.startsWith('totvs-sftp-'))
		.map((n) => path.join(os.tmpdir(), n))
		.filter((dir) => {
			try {
				return readFileSync(path.join(dir, 'owner'), 'utf8').split(' ')[0] === String(pid);
			} catch {
				return false;
			}
		});
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8).padStart(4, '0');
const MiB = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Kills a worker and all its children (pg_dump, ssh…) with SIGKILL, like a host crash. */
async function killWorker(victim: QueueWorker): Promise<number[]> {
	const tree = processTree(victim.pid);
	for (const pid of tree) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {
			// exited meanwhile
		}
	}
	await victim.kill('SIGKILL');
	return tree;
}

const faults: string[] = [];
const started = Date.now();
let redis: RedisServer;
let sftp: SftpDestination;
let throttle: { port: number; stop(): Promise<void> };
let pgThrottle: { port: number; stop(): Promise<void> };
let source: ProtheusSource;
let bigSource: ProtheusSource;
let userFolder: string;
let cluster: QueueCluster;
let remoteRoot: string;

beforeAll(async () => {
	if (unavailable) return;
	const template = process.env[TEMPLATE_ENV];
	if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run with \`npm run test:queue\`.`);
	staging = mkdtempSync(path.join(os.tmpdir(), 'totvs-queue-staging-'));
	userFolder = mkdtempSync(path.join(os.tmpdir(), 'totvs-queue-n8n-'));
	copyCommunityPackages(template, userFolder);
	[redis, sftp, source, bigSource] = await Promise.all([
		startRedis(),
		startSftpDestination(),
		createProtheusSource('q_src'),
		createProtheusSource('q_big', 50),
	]);
	remoteRoot = sftp.sshd.user.home;
	throttle = await startThrottle(sftp.sshd.port, SLOW_BYTES_PER_SECOND);
	pgThrottle = await startThrottle(sharedPostgres().port, SLOW_DUMP_BYTES_PER_SECOND, 'down');
	// Incompressible-ish rows (md5 hex halves under zstd), so the dump is big enough to be killed mid-upload.
	await sharedPostgres().admin(
		`CREATE TABLE zz_big AS SELECT g AS id, (SELECT string_agg(md5(random()::text || g || x), '') FROM generate_series(1, 32) x) AS payload FROM generate_series(1, ${BIG_TABLE_MB * 1024}) g`,
		bigSource.database,
	);
	cluster = await startQueueCluster({
		install: ensureN8n(),
		userFolder,
		redis,
		workers: 2,
		concurrency: 2,
		prepare: async (main) => {
			await importCredentials(main, [
				source.credential(SRC, SRC),
				bigSource.credential(BIG_SRC, BIG_SRC),
				bigSource.credential(SLOW_SRC, SLOW_SRC, { host: '127.0.0.1', port: pgThrottle.port }),
				sftp.credential(SFTP, SFTP),
				sftp.credential(SLOW_SFTP, SLOW_SFTP, { port: throttle.port }),
			]);
			// One import and one activation for all (each n8n CLI call starts a whole n8n).
			const file = path.join(userFolder, 'queue-workflows.json');
			writeFileSync(file, JSON.stringify(workflows()));
			const imported = await n8nCli(main, ['import:workflow', `--input=${file}`]);
			if (imported.code !== 0) throw new Error(`import:workflow failed:\n${imported.stdout}${imported.stderr}`);
			// n8n 2.x refuses `update:workflow --all --active=true`: one by one.
			for (const workflow of workflows()) await activateWorkflow(main, workflow.id);
		},
	});
	for (const hook of HOOKS) await waitForWebhook(cluster.main.url, hook);
	console.log(`queue cluster ready after ${((Date.now() - started) / 1000).toFixed(0)} s`);
});

afterAll(async () => {
	if (unavailable) return;
	await cluster?.stop();
	await Promise.all([
		redis?.stop(),
		sftp?.stop(),
		throttle?.stop(),
		pgThrottle?.stop(),
		source?.drop(),
		bigSource?.drop(),
	]);
	for (const dir of [staging, userFolder]) if (dir) rmSync(dir, { recursive: true, force: true });
	console.log(
		`queue-mode suite wall time ${((Date.now() - started) / 1000).toFixed(0)} s (cluster start included); faults injected and observed:\n${faults.map((f) => `  - ${f}`).join('\n')}`,
	);
});

suite('TOTVS nodes in n8n queue mode (Redis, main + two workers)', () => {
	it('runs the nightly workflows of four environments started together on both workers; every set complete, verified, uploaded', async () => {
		const before = snapshot(cluster.workers);
		const answers = await Promise.all(NIGHTLY_ENVS.map((env) => callWebhook(cluster.main.url, `nightly-${env}`)));
		const items = answers.map(firstItem);
		const byWorker = startedSince(cluster.workers, before);
		expect(byWorker.flat()).toHaveLength(4);
		for (const ids of byWorker) expect(ids.length).toBeGreaterThan(0);
		for (const [i, item] of items.entries()) {
			expect(item).toMatchObject({ status: 'ok', environment: NIGHTLY_ENVS[i] });
			const backupId = item.backupId as string;
			const local = path.join(staging, NIGHTLY_ENVS[i], backupId);
			const remote = path.join(remoteRoot, NIGHTLY_ENVS[i], backupId);
			// Complete and identical: every file of the staging set is on the server, byte for byte.
			expect(filesUnder(remote)).toEqual(filesUnder(local));
			expect(filesUnder(local)).toContain('manifest.json');
			for (const rel of filesUnder(local))
				expect(await sha256(path.join(remote, rel))).toBe(await sha256(path.join(local, rel)));
		}
		// The staging folder holds exactly the four sets, nothing unfinished.
		expect(readdirSync(staging).sort()).toEqual([...NIGHTLY_ENVS].sort());
		for (const [i, env] of NIGHTLY_ENVS.entries())
			expect(readdirSync(path.join(staging, env))).toEqual([items[i].backupId]);
		console.log(
			`four environments: executions by worker ${JSON.stringify(byWorker)}; answered in ${answers.map((a) => (a.ms / 1000).toFixed(1)).join(', ')} s`,
		);
	});

	it('serializes two uploads and a Prune of one environment on one destination, on different workers, on its lock', async () => {
		// Two sets of the same environment (backup IDs are per second: one after the other).
		const a = firstItem(await callWebhook(cluster.main.url, 'dump-same'));
		await new Promise((r) => setTimeout(r, 1100));
		const b = firstItem(await callWebhook(cluster.main.url, 'dump-same'));
		expect(a.backupId).not.toBe(b.backupId);

		const before = snapshot(cluster.workers);
		const logBefore = cluster.workers.map((w) => w.output().length);
		const [upA, upB, pruned] = (
			await Promise.all([
				callWebhook(cluster.main.url, 'upload-set', { setFolder: a.location }),
				callWebhook(cluster.main.url, 'upload-set', { setFolder: b.location }),
				callWebhook(cluster.main.url, 'prune-same'),
			])
		).map(firstItem);
		const byWorker = startedSince(cluster.workers, before);
		expect(byWorker.flat()).toHaveLength(3);
		for (const ids of byWorker) expect(ids.length).toBeGreaterThan(0);
		const remotePath = (item: Record<string, unknown>) =>
			(item.uploads as Array<{ remotePath: string }>)?.at(-1)?.remotePath;
		expect(upA).toMatchObject({ status: 'ok' });
		expect(upB).toMatchObject({ status: 'ok' });
		expect(remotePath(upA)).toBe(`${SAME_ENV}/${a.backupId}`);
		expect(remotePath(upB)).toBe(`${SAME_ENV}/${b.backupId}`);
		expect(pruned).toMatchObject({ prune: { environment: SAME_ENV, dryRun: false, deleteCount: 0 } });
		// Started together, they took turns: the waiting runs logged who held the lock. (The items
		// do not carry lockWaitMs: TOTVS Upload's node does not copy it from the core result.)
		const newLog = cluster.workers.map((w, i) => w.output().slice(logBefore[i])).join('\n');
		const waits = [
			...newLog.matchAll(new RegExp(`Environment ${SAME_ENV} on sftp://\\S+ is locked by (.*?); waiting up to`, 'g')),
		].map((m) => m[1]);
		expect(waits.length).toBeGreaterThanOrEqual(1);
		for (const id of [a.backupId, b.backupId] as string[])
			expect(existsSync(path.join(remoteRoot, SAME_ENV, id, 'manifest.json'))).toBe(true);
		expect(existsSync(path.join(remoteRoot, SAME_ENV, '.totvs-lock.json'))).toBe(false);
		console.log(
			`same environment: executions by worker ${JSON.stringify(byWorker)}; waits logged: ${waits.join(' | ')}`,
		);
		faults.push(
			`two uploads + a Prune of ${SAME_ENV} at once on ${byWorker.filter((x) => x.length).length} workers: all ok; ${waits.length} waited for the lock, logging its holder (${waits.join(' | ')})`,
		);
	});

	it('waits a bounded time for a lock held elsewhere, and the failure names the holder', async () => {
		const set = (await callWebhook(cluster.main.url, 'dump-same').then(firstItem)).location as string;
		const lockFile = path.join(remoteRoot, SAME_ENV, '.totvs-lock.json');
		const now = new Date().toISOString();
		writeFileSync(
			lockFile,
			JSON.stringify({
				format: 1,
				environment: SAME_ENV,
				owner: { hostname: 'backup-host-b', pid: 4242, executionId: '777' },
				token: 'foreign-token',
				purpose: 'upload',
				acquiredAt: now,
				renewedAt: now,
				staleAfterMs: 600_000,
			}),
		);
		chownSync(lockFile, sftp.sshd.user.uid, sftp.sshd.user.gid);
		try {
			const answer = await callWebhook(cluster.main.url, 'upload-short', { setFolder: set });
			expect(answer.status).toBe(500);
			expect(answer.ms).toBeLessThan(60_000);
			const failed = readN8nDatabase(ensureN8n(), userFolder).executions.filter(
				(e) => e.workflowId === 'QueueUploadShort',
			);
			expect(failed).toHaveLength(1);
			expect(failed[0].status).toBe('error');
			expect(failed[0].data).toMatch(/is locked by .*backup-host-b.*4242/);
			faults.push(
				`lock held by another host: the upload gave up after its 4 s wait in ${(answer.ms / 1000).toFixed(1)} s, error names backup-host-b pid 4242`,
			);
		} finally {
			rmSync(lockFile, { force: true });
		}
	});

	it('a worker killed with SIGKILL mid-upload: nothing under a final name, the lock taken over at once, the next run succeeds, Prune cleans only its leftovers', async () => {
		const before = snapshot(cluster.workers);
		const envDir = path.join(remoteRoot, BIG_ENV);
		const answerPromise = callWebhook(cluster.main.url, 'nightly-big');
		// Kill when a partial file is on the server's disk and has grown.
		let partial: string | undefined;
		const deadline = Date.now() + 10 * 60_000;
		while (!partial && Date.now() < deadline) {
			partial = filesUnder(envDir).find(
				(f) => f.endsWith('.totvs-partial') && statSync(path.join(envDir, f)).size > 4 << 20,
			);
			if (!partial) await new Promise((r) => setTimeout(r, 100));
		}
		expect(partial).toBeDefined();
		const runner = startedSince(cluster.workers, before).findIndex((ids) => ids.length > 0);
		expect(runner).toBeGreaterThanOrEqual(0);
		const victim = cluster.workers[runner];
		const deadPid = victim.pid;
		const tree = await killWorker(victim);
		const killedAtBytes = statSync(path.join(envDir, partial!)).size;
		// The OpenSSH fast path's private folder (the SSH key inside) outlived its killed owner,
		// private: the folder 0700, the key 0600. Any node's next start on this host sweeps it.
		const leftTemp = sftpTempFoldersOf(deadPid);
		expect(leftTemp.length).toBeGreaterThanOrEqual(1);
		const keyFolder = leftTemp.find((dir) => existsSync(path.join(dir, 'id')));
		expect(keyFolder).toBeDefined();
		expect(mode(keyFolder!)).toBe('0700');
		expect(mode(path.join(keyFolder!, 'id'))).toBe('0600');
		faults.push(
			`SIGKILL to worker ${runner} (pid ${deadPid} and its ${tree.length - 1} children) while ${partial} held ${killedAtBytes} bytes`,
		);
		const answer = await answerPromise;
		expect(answer.status).not.toBe(200);
		faults.push(`the webhook caller got HTTP ${answer.status} after ${(answer.ms / 1000).toFixed(0)} s`);

		// On the server: one unfinished set (marker, no manifest); every final-named file whole.
		const [setId] = readdirSync(envDir).filter((n) => !n.startsWith('.'));
		const remoteSet = path.join(envDir, setId);
		const localSet = path.join(staging, BIG_ENV, setId);
		expect(existsSync(path.join(remoteSet, 'manifest.json'))).toBe(false);
		expect(existsSync(path.join(remoteSet, 'totvs-in-progress.json'))).toBe(true);
		for (const rel of filesUnder(remoteSet).filter(
			(f) => !f.endsWith('.totvs-partial') && f !== 'totvs-in-progress.json',
		))
			expect(await sha256(path.join(remoteSet, rel))).toBe(await sha256(path.join(localSet, rel)));
		// The dead worker's lock is still there, naming its pid.
		const lock = JSON.parse(readFileSync(path.join(envDir, '.totvs-lock.json'), 'utf8')) as { owner: { pid: number } };
		expect(lock.owner.pid).toBe(deadPid);
		// Staging: the dump had finished (the upload was under way): its set is complete there; no other set.
		expect(readdirSync(path.join(staging, BIG_ENV))).toEqual([setId]);
		expect(existsSync(path.join(localSet, 'manifest.json'))).toBe(true);

		// The next run goes to the surviving worker and takes the dead worker's lock over at once.
		await new Promise((r) => setTimeout(r, 1100));
		const survivor = cluster.workers[1 - runner];
		const beforeNext = snapshot(cluster.workers);
		const survivorLogBefore = survivor.output().length;
		const nextAnswer = await callWebhook(cluster.main.url, 'nightly-big');
		const next = firstItem(nextAnswer);
		expect(startedSince(cluster.workers, beforeNext)[1 - runner].length).toBe(1);
		expect(next).toMatchObject({ status: 'ok', environment: BIG_ENV });
		expect((next.uploads as Array<{ remotePath: string }>).at(-1)?.remotePath).toBe(`${BIG_ENV}/${next.backupId}`);
		// Taken over at once (the dead worker's lock would otherwise hold for its 10 min stale period,
		// longer than this run's 5 min wait): the survivor logged the takeover and never waited.
		const survivorLog = survivor.output().slice(survivorLogBefore);
		expect(survivorLog).toContain(`Taking over the lock of environment ${BIG_ENV}`);
		expect(survivorLog).toContain('that process no longer runs on this machine');
		expect(survivorLog).not.toMatch(new RegExp(`Environment ${BIG_ENV} .*waiting up to`));
		expect(survivor.alive()).toBe(true);
		// The survivor's SFTP connection swept the dead worker's temporary folder, key and all.
		expect(sftpTempFoldersOf(deadPid)).toEqual([]);
		for (const dir of leftTemp) expect(existsSync(dir)).toBe(false);
		faults.push(
			`next run on worker ${1 - runner}: ok in ${(nextAnswer.ms / 1000).toFixed(0)} s, the lock of dead pid ${deadPid} taken over at once, no wait; the dead worker's ${leftTemp.length} OpenSSH temp folder(s) (0700, key 0600) swept by it`,
		);
		await cluster.restartWorker(runner);

		// Prune cleans the unfinished set and nothing else: not the complete set, not a foreign folder.
		const foreign = path.join(envDir, 'not-ours');
		mkdirSync(foreign);
		writeFileSync(path.join(foreign, 'keep.txt'), 'foreign');
		chownSync(foreign, sftp.sshd.user.uid, sftp.sshd.user.gid);
		const pruned = firstItem(await callWebhook(cluster.main.url, 'prune-big'));
		expect(pruned).toBeDefined();
		expect(
			readdirSync(envDir)
				.filter((n) => !n.startsWith('.'))
				.sort(),
		).toEqual([next.backupId, 'not-ours'].sort());
		expect(readFileSync(path.join(foreign, 'keep.txt'), 'utf8')).toBe('foreign');
		expect(existsSync(path.join(envDir, next.backupId as string, 'manifest.json'))).toBe(true);
		faults.push(
			`Prune afterwards removed the unfinished ${setId} only (complete ${next.backupId} and foreign folder kept)`,
		);
	});

	it('a worker killed with SIGKILL mid-dump: nothing on the destination, the staging set stays unfinished, the next run succeeds, Prune of the staging folder cleans only that set', async () => {
		const stagingEnv = path.join(staging, DUMP_KILL_ENV);
		const remoteEnv = path.join(remoteRoot, DUMP_KILL_ENV);
		const before = snapshot(cluster.workers);
		const answerPromise = callWebhook(cluster.main.url, 'nightly-dumpkill');
		// Kill when the set folder is in staging, unfinished, and its dump file has grown past 1 MiB.
		let dumping: { set: string; file: string } | undefined;
		const deadline = Date.now() + 10 * 60_000;
		while (!dumping && Date.now() < deadline) {
			for (const set of existsSync(stagingEnv) ? readdirSync(stagingEnv).filter((n) => !n.startsWith('.')) : []) {
				const files = filesUnder(path.join(stagingEnv, set));
				if (files.includes('manifest.json')) continue;
				const file = files.find(
					(f) => f !== 'totvs-in-progress.json' && statSync(path.join(stagingEnv, set, f)).size > 1 << 20,
				);
				if (file) dumping = { set, file };
			}
			if (!dumping) await new Promise((r) => setTimeout(r, 100));
		}
		expect(dumping).toBeDefined();
		const { set: deadSet, file: dumpFile } = dumping!;
		const runner = startedSince(cluster.workers, before).findIndex((ids) => ids.length > 0);
		expect(runner).toBeGreaterThanOrEqual(0);
		const victim = cluster.workers[runner];
		const deadPid = victim.pid;
		const tree = await killWorker(victim);
		const killedAtBytes = statSync(path.join(stagingEnv, deadSet, dumpFile)).size;
		const answer = await answerPromise;
		expect(answer.status).not.toBe(200);
		faults.push(
			`SIGKILL to worker ${runner} (pid ${deadPid} and its ${tree.length - 1} children, pg_dump among them) mid-dump, when ${deadSet}/${dumpFile} held ${MiB(killedAtBytes)}; the webhook caller got HTTP ${answer.status} after ${(answer.ms / 1000).toFixed(0)} s`,
		);

		// Staging: the killed set stays visibly unfinished (marker, no manifest); it is the only set.
		await new Promise((r) => setTimeout(r, 1000));
		const deadFiles = filesUnder(path.join(stagingEnv, deadSet));
		expect(deadFiles).toContain('totvs-in-progress.json');
		expect(deadFiles).not.toContain('manifest.json');
		expect(readdirSync(stagingEnv).filter((n) => !n.startsWith('.'))).toEqual([deadSet]);
		// Destination: the upload never began, so nothing at all (no set, no partial, no lock to take over).
		expect(filesUnder(remoteEnv)).toEqual([]);
		// Nothing of the dump on disk under another name either, and no OpenSSH temp folder (no upload ran).
		expect(sftpTempFoldersOf(deadPid)).toEqual([]);

		// The next run of the same workflow goes to the surviving worker and succeeds.
		await new Promise((r) => setTimeout(r, 1100));
		const survivor = cluster.workers[1 - runner];
		const beforeNext = snapshot(cluster.workers);
		const nextAnswer = await callWebhook(cluster.main.url, 'nightly-dumpkill');
		const next = firstItem(nextAnswer);
		expect(startedSince(cluster.workers, beforeNext)[1 - runner].length).toBe(1);
		expect(survivor.alive()).toBe(true);
		expect(next).toMatchObject({ status: 'ok', environment: DUMP_KILL_ENV });
		const nextId = next.backupId as string;
		expect(filesUnder(path.join(remoteEnv, nextId))).toEqual(filesUnder(path.join(stagingEnv, nextId)));
		expect(filesUnder(path.join(stagingEnv, nextId))).toContain('manifest.json');
		for (const rel of filesUnder(path.join(stagingEnv, nextId)))
			expect(await sha256(path.join(remoteEnv, nextId, rel))).toBe(await sha256(path.join(stagingEnv, nextId, rel)));
		expect(readdirSync(remoteEnv).filter((n) => !n.startsWith('.'))).toEqual([nextId]);
		faults.push(
			`next run on worker ${1 - runner}: ok in ${(nextAnswer.ms / 1000).toFixed(0)} s (dump through the ${MiB(SLOW_DUMP_BYTES_PER_SECOND)}/s link, verify, upload), set ${nextId} complete on the server`,
		);
		await cluster.restartWorker(runner);

		// Prune of the staging folder (TOTVS Upload, destination: local folder = the staging folder):
		// the dead worker's unfinished set goes; the complete set and a folder not ours stay.
		const foreign = path.join(stagingEnv, 'not-ours');
		mkdirSync(foreign);
		writeFileSync(path.join(foreign, 'keep.txt'), 'foreign');
		const pruned = firstItem(await callWebhook(cluster.main.url, 'prune-staging-dumpkill'));
		expect(pruned).toMatchObject({ prune: { environment: DUMP_KILL_ENV, dryRun: false } });
		expect(
			readdirSync(stagingEnv)
				.filter((n) => !n.startsWith('.'))
				.sort(),
		).toEqual([nextId, 'not-ours'].sort());
		expect(existsSync(path.join(stagingEnv, nextId, 'manifest.json'))).toBe(true);
		expect(readFileSync(path.join(foreign, 'keep.txt'), 'utf8')).toBe('foreign');
		rmSync(foreign, { recursive: true });
		faults.push(
			`Prune of the staging folder afterwards removed the unfinished ${deadSet} (${MiB(killedAtBytes)}+ of dump) only; complete ${nextId} and a foreign folder kept`,
		);
	});

	it('keeps running executions after Redis restarts between them', async () => {
		await redis.restart();
		faults.push('Redis stopped and started again (empty) between executions');
		const before = snapshot(cluster.workers);
		const answers = await Promise.all(
			NIGHTLY_ENVS.slice(0, 2).map((env) => callWebhook(cluster.main.url, `nightly-${env}`)),
		);
		for (const [i, answer] of answers.entries())
			expect(firstItem(answer)).toMatchObject({ status: 'ok', environment: NIGHTLY_ENVS[i] });
		expect(startedSince(cluster.workers, before).flat()).toHaveLength(2);
		faults.push(
			`after the Redis restart two nightly runs succeeded in ${answers.map((a) => (a.ms / 1000).toFixed(0)).join(' and ')} s`,
		);
	});

	it('no execution carries a dump as binary data', () => {
		const { executions, tables } = readN8nDatabase(ensureN8n(), userFolder);
		expect(executions.length).toBeGreaterThanOrEqual(12);
		for (const execution of executions) {
			// n8n's run data keeps an item's binaries under a "binary" key.
			expect(execution.data).not.toContain('"binary":');
			expect(execution.data).not.toContain('application/octet-stream');
		}
		const binaryTables = tables.filter((t) => /binary/i.test(t));
		console.log(
			`${executions.length} executions in n8n's database, none with binary data; binary tables: ${binaryTables.join(', ') || 'none'}`,
		);
	});
});
