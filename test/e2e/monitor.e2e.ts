/**
 * TOTVS Monitor's examples in a real n8n (issue 14, "Done when"):
 * - the watchdog (examples/monitor-watchdog.json, its schedule swapped for a Manual Trigger and
 *   its Slack/email nodes for stand-ins, see example-test-copy.ts) run with `n8n execute`: the
 *   destination holds only a set 30 h old → critical and the alert branch runs; after a new
 *   backup and a restore test of it → ok and no alert. The sets and the restore test are made by
 *   this test (a real files backup of a generated Protheus tree, uploaded to the test sshd).
 * - the metrics example (examples/monitor-metrics.json) activated in a real `n8n start`, and a
 *   real Prometheus scraping its webhook on loopback: its query API returns our metric.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeBackup, type BackupResult } from '../../core/backup';
import { makeBackupId } from '../../core/backup-set/ids';
import { MANIFEST_FILE, type Manifest } from '../../core/backup-set/manifest';
import { openDestination, type Destination, type SftpConfig } from '../../core/destinations';
import { currentOwner } from '../../core/locking/environment-lock';
import { silentLogger } from '../../core/logger';
import type { EnvironmentFigures } from '../../core/monitor/types';
import { writeRestoreRecord } from '../../core/restore-record';
import { restoreTestSet } from '../../core/restore-test';
import { defaultFilesOptions, ProtheusFilesSource } from '../../core/sources/protheus-files';
import { uploadSet } from '../../core/upload/set-transfer';
import { createProtheusTree, type ProtheusTree } from '../../support/fixtures/protheus-tree';
import { n8nCli, REPO_ROOT, startN8n, type N8nInstance, type RunningN8n } from '../../support/n8n-env';
import {
	prometheusUnavailable,
	promtoolCheckMetrics,
	PROMTOOL,
	startPrometheus,
	type PrometheusServer,
	type PromSample,
} from '../../support/prometheus';
import { STAND_IN_FIELD, testCopy } from './example-test-copy';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	ranNodes,
	succeeded,
	type WorkflowJson,
} from './n8n-cli';
import { startSftpDestination, type SftpDestination } from './sources';

const HOUR = 3600_000;
const ENVIRONMENT = 'prod';
const example = (file: string) =>
	JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', file), 'utf8')) as WorkflowJson;
const watchdog = example('monitor-watchdog.json');
const metrics = example('monitor-metrics.json');
const ALERTS = ['Slack: backup alert', 'Email: backup alert'];

/** The SFTP credential the examples reference (both use the same one). */
const sftpCredentialRef = (workflow: WorkflowJson) =>
	workflow.nodes.find((n) => n.name === 'TOTVS Monitor')!.credentials as { totvsSftp: { id: string; name: string } };

/** Bounded polling: `check` until it returns something, or fail with `what` and `state()` after `timeoutMs`. */
async function pollUntil<T>(
	what: string,
	timeoutMs: number,
	check: () => Promise<T | undefined>,
	state: () => Promise<string> | string = () => '',
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError = '';
	for (;;) {
		try {
			const value = await check();
			if (value !== undefined) return value;
		} catch (error) {
			lastError = (error as Error).message;
		}
		if (Date.now() > deadline)
			throw new Error(`${what}: not within ${timeoutMs / 1000} s. ${lastError}\n${await state()}`);
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

const skipReason = prometheusUnavailable() ?? (process.getuid?.() !== 0 ? 'needs root for the test sshd' : undefined);
const suite = skipReason ? describe.skip : describe;

let work: string;
let staging: string;
let tree: ProtheusTree;
let sftp: SftpDestination;
let instance: N8nInstance;
let n8n: RunningN8n | undefined;
let prometheus: PrometheusServer | undefined;

function sftpConfig(): SftpConfig {
	const { sshd } = sftp;
	return {
		type: 'sftp',
		host: sshd.host,
		port: sshd.port,
		username: sshd.user.name,
		privateKey: sshd.clientKey,
		passphrase: sshd.clientKeyPassphrase,
		hostKeySha256: sshd.hostKeySha256,
		folder: '',
	};
}

async function withSftp<T>(use: (destination: Destination) => Promise<T>): Promise<T> {
	const destination = openDestination(sftpConfig());
	try {
		return await use(destination);
	} finally {
		await destination.close();
	}
}

/** A real full backup of the test tree (TOTVS Dump's files engine), in environment prod. */
const backupNow = () =>
	makeBackup(new ProtheusFilesSource(), {
		connection: null,
		options: { ...defaultFilesOptions, appserverIni: tree.appserverIni },
		environment: ENVIRONMENT,
		type: 'full',
		stagingFolder: staging,
		log: silentLogger,
	});

/**
 * The same set as if it had been made `hoursAgo` hours ago (the nightly that then stopped
 * running): a copy under the backupId of that time, its manifest's times moved back. The
 * Monitor ages a set by its manifest's startedAt.
 */
async function agedCopy(set: BackupResult, hoursAgo: number): Promise<string> {
	const at = new Date(Date.now() - hoursAgo * HOUR);
	const backupId = makeBackupId(ENVIRONMENT, 'full', 'files', at);
	const folder = path.join(path.dirname(set.folder), backupId);
	await cp(set.folder, folder, { recursive: true });
	const manifest = JSON.parse(await readFile(path.join(folder, MANIFEST_FILE), 'utf8')) as Manifest;
	manifest.backupId = backupId;
	manifest.startedAt = at.toISOString();
	manifest.finishedAt = new Date(at.getTime() + manifest.durationMs).toISOString();
	await writeFile(path.join(folder, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
	return folder;
}

const upload = (folder: string) =>
	withSftp((destination) =>
		uploadSet(destination, folder, { lock: { owner: currentOwner('monitor-e2e'), options: { waitMs: 0 } } }),
	);

/** The Monitor's item, as far as these tests read it. */
interface MonitorItem {
	environment: string;
	status: string;
	reasons: Array<{ code: string; severity: string; message: string }>;
	figures: EnvironmentFigures;
}

async function runWatchdog() {
	const copy = testCopy(watchdog);
	const run = succeeded(await executeWorkflow(instance, copy));
	const [monitored] = nodeOutputs(run, 'TOTVS Monitor');
	expect(monitored).toHaveLength(1);
	return { run, item: monitored[0] as unknown as MonitorItem };
}

beforeAll(async () => {
	work = mkdtempSync(path.join(os.tmpdir(), 'totvs-e2e-monitor-'));
	staging = path.join(work, 'staging');
	await mkdir(staging);
	if (skipReason) return;
	[instance, sftp, tree] = await Promise.all([
		freshInstance('monitor'),
		startSftpDestination(),
		createProtheusTree(path.join(work, 'totvs', 'protheus'), { smallFiles: 40, rpoBytes: 256 << 10, tables: 2 }),
	]);
	const { id, name } = sftpCredentialRef(watchdog).totvsSftp;
	expect(sftpCredentialRef(metrics).totvsSftp.id).toBe(id);
	await importCredentials(instance, [sftp.credential(id, name)]);
	await importWorkflow(instance, testCopy(watchdog));
});

afterAll(async () => {
	printTimings('monitor.e2e.ts');
	await prometheus?.stop();
	await n8n?.stop();
	await sftp?.stop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
	if (work) rmSync(work, { recursive: true, force: true });
});

suite(skipReason ? `TOTVS Monitor in a real n8n (skipped: ${skipReason})` : 'TOTVS Monitor in a real n8n', () => {
	let fresh: BackupResult;

	it('watchdog example: critical with alerts when the newest full is older than 26 h, ok and quiet after a new backup and a restore test', async () => {
		// The nightly stopped running 30 hours ago: its last set is all the destination holds.
		const old = await agedCopy(await backupNow(), 30);
		const oldId = path.basename(old);
		await upload(old);

		const stale = await runWatchdog();
		expect(stale.item).toMatchObject({ environment: ENVIRONMENT, status: 'critical' });
		const reasons = stale.item.reasons;
		expect(reasons).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ code: 'stale-backup', severity: 'critical' }),
				expect.objectContaining({ code: 'never-restore-tested', severity: 'warning' }),
			]),
		);
		const staleReason = reasons.find((r) => r.code === 'stale-backup')!;
		expect(staleReason.message).toContain(oldId);
		expect(staleReason.message).toMatch(/30\.\d h old, over the 26 h limit/);
		expect(stale.item.figures.newest).toEqual([
			expect.objectContaining({ engine: 'protheus-files', type: 'full', backupId: oldId, copies: 1 }),
		]);
		expect(stale.item.figures.newest[0].ageSeconds).toBeGreaterThanOrEqual(30 * 3600);
		expect(stale.item.figures.restoreTests).toMatchObject({ count: 0, last: null, newestPassed: null });
		// The alert branch ran: both messages, with the status and every reason.
		expect(ranNodes(stale.run)).toEqual(expect.arrayContaining(ALERTS));
		const [[slack]] = nodeOutputs(stale.run, 'Slack: backup alert');
		expect(slack[STAND_IN_FIELD]).toBe('n8n-nodes-base.slack');
		expect(slack.text).toMatch(/^:rotating_light: TOTVS backups \*CRITICAL\* \(prod\): /);
		for (const reason of reasons) expect(slack.text).toContain(`• ${reason.message}`);
		const [[email]] = nodeOutputs(stale.run, 'Email: backup alert');
		expect(email.subject).toBe('[TOTVS] Backups CRITICAL: prod');
		expect(email.text).toContain(staleReason.message);

		// The nightly runs again, and the new set passes a restore test (its record on the destination).
		fresh = await backupNow();
		await upload(fresh.folder);
		const startedAt = new Date();
		const report = await restoreTestSet({
			folder: fresh.folder,
			server: { engine: 'protheus-files', scratchFolder: path.join(work, 'scratch') },
			keepOnFailure: false,
			log: silentLogger,
		});
		expect(report.checks.filter((c) => !c.ok)).toEqual([]);
		expect(report.passed).toBe(true);
		await withSftp((destination) =>
			writeRestoreRecord(destination, {
				environment: ENVIRONMENT,
				testedId: fresh.manifest.backupId,
				engine: 'protheus-files',
				passed: report.passed,
				startedAt,
				finishedAt: new Date(),
				restoreMs: report.restoreMs,
				checksMs: report.checksMs,
				restoredBytes: report.restoredBytes,
				checks: report.checks,
				restoreServer: { engine: 'protheus-files' },
				sourceDestination: null,
			}),
		);

		const ok = await runWatchdog();
		expect(ok.item).toMatchObject({ environment: ENVIRONMENT, status: 'ok', reasons: [] });
		expect(ok.item.figures.newest).toEqual([
			expect.objectContaining({ type: 'full', backupId: fresh.manifest.backupId, copies: 1 }),
		]);
		expect(ok.item.figures.newest[0].ageSeconds).toBeLessThan(3600);
		expect(ok.item.figures.restoreTests).toMatchObject({
			count: 1,
			last: { testedId: fresh.manifest.backupId, passed: true },
			newestPassed: { testedId: fresh.manifest.backupId },
		});
		expect(ranNodes(ok.run)).toContain('Anything wrong?');
		for (const alert of ALERTS) expect(ranNodes(ok.run)).not.toContain(alert);
	});

	it('metrics example: a real Prometheus scrapes the activated webhook and its query API returns totvs_backup_status for prod', async () => {
		const workflow: WorkflowJson = { ...metrics, settings: { ...metrics.settings } };
		// No error workflow in this test instance.
		delete workflow.settings!.errorWorkflow;
		await importWorkflow(instance, workflow);
		const activated = await n8nCli(instance, ['update:workflow', `--id=${workflow.id}`, '--active=true']);
		expect({ code: activated.code, stderr: activated.stderr.slice(-2000) }).toMatchObject({ code: 0 });

		n8n = await startN8n(instance);
		const webhook = metrics.nodes.find((n) => n.type === 'n8n-nodes-base.webhook')!;
		const metricsPath = `/webhook/${webhook.parameters!.path as string}`;
		// Activated workflows' webhooks are registered in the background after the REST API answers.
		const body = await pollUntil(
			`GET ${metricsPath} answering 200`,
			5 * 60_000,
			async () => {
				const res = await fetch(`${n8n!.url}${metricsPath}`);
				return res.status === 200 ? { text: await res.text(), type: res.headers.get('content-type') } : undefined;
			},
			() => n8n!.output().slice(-3000),
		);
		expect(body.type).toMatch(/^text\/plain;.*\bversion=0\.0\.4\b/);
		expect(body.text).toMatch(/^# HELP totvs_backup_status /m);
		// ok after the first test (a fresh set, a passed restore test).
		expect(body.text).toMatch(/^totvs_backup_status\{[^}]*environment="prod"[^}]*\} 0$/m);
		if (existsSync(PROMTOOL)) expect(promtoolCheckMetrics(body.text)).toBe('');
		else console.warn(`${PROMTOOL} not installed: promtool check metrics not run`);

		prometheus = await startPrometheus({ target: `127.0.0.1:${instance.port}`, metricsPath, scrapeInterval: '1s' });
		const samples = await pollUntil<PromSample[]>(
			'Prometheus returning totvs_backup_status{environment="prod"}',
			4 * 60_000,
			async () => {
				const found = await prometheus!.query(`totvs_backup_status{environment="${ENVIRONMENT}"}`);
				return found.length ? found : undefined;
			},
			async () => `targets: ${await prometheus!.targets()}\nprometheus: ${prometheus!.output()}`,
		);
		expect(samples).toEqual([
			expect.objectContaining({
				metric: expect.objectContaining({ __name__: 'totvs_backup_status', environment: 'prod', job: 'totvs-backup' }),
				value: [expect.any(Number), '0'],
			}),
		]);
		// The figures came through too: the newest full's age, a fresh set (under an hour).
		const [age] = await prometheus.query(
			`totvs_backup_newest_set_age_seconds{environment="${ENVIRONMENT}",type="full"}`,
		);
		expect(Number(age.value[1])).toBeLessThan(3600);
		expect(age.metric).toMatchObject({ engine: 'protheus-files' });
	});
});
