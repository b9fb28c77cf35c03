/**
 * TOTVS Monitor inside n8n's real engine (support/n8n-engine.ts): the watchdog path (Manual
 * Trigger → TOTVS Monitor → the alert branch) turns critical when the newest set is older than
 * its limit and ok after a new backup; an unreachable server is a critical item, not a failed
 * workflow; the Prometheus and HTML outputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { TotvsSftp } from '../../../credentials/TotvsSftp.credentials';
import { openDestination } from '../../../core/destinations';
import { writeRestoreRecord } from '../../../core/restore-record';
import { TotvsMonitor } from '../../../nodes/TotvsMonitor/TotvsMonitor.node';
import {
	MANUAL_TRIGGER_TYPE,
	NO_OP_TYPE,
	PACKAGE_NAME,
	packageNodeTypes,
	runWorkflow,
	type WorkflowNodeInput,
} from '../../../support/n8n-engine';
import { syntheticSet } from './targets';

const MONITOR_TYPE = `${PACKAGE_NAME}.totvsMonitor`;
const HOUR = 3600_000;
let root: string;

beforeAll(async () => {
	root = mkdtempSync(join(tmpdir(), 'totvs-monitor-node-'));
	// The nightly stopped running: the newest full is 30 hours old; its restore test passed.
	const old = await syntheticSet(root, 'full', new Date(Date.now() - 30 * HOUR), { bytes: 2048 });
	const destination = openDestination({ type: 'local', folder: root });
	await writeRestoreRecord(destination, {
		environment: 'prod',
		testedId: old.backupId,
		engine: 'postgres',
		passed: true,
		startedAt: new Date(Date.now() - 29 * HOUR),
		finishedAt: new Date(Date.now() - 28 * HOUR),
		restoreMs: 120_000,
		restoredBytes: 4096,
		checks: [{ name: 'row counts', ok: true, expected: '3', actual: '3' }],
		restoreServer: { engine: 'postgres', host: '127.0.0.1', port: 5432 },
	});
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function watchdog(parameters: INodeParameters, monitor: Partial<WorkflowNodeInput> = {}) {
	return runWorkflow(
		{
			nodes: [
				{ name: 'Every hour', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'TOTVS Monitor',
					type: MONITOR_TYPE,
					parameters: { destinations: ['local'], localFolders: root, ...parameters },
					...monitor,
				},
				{ name: 'Alert', type: NO_OP_TYPE },
			],
			connections: {
				'Every hour': { main: [[{ node: 'TOTVS Monitor', type: 'main', index: 0 }]] },
				'TOTVS Monitor': { main: [[{ node: 'Alert', type: 'main', index: 0 }]] },
			},
		},
		{
			nodeTypes: packageNodeTypes([new TotvsMonitor()]),
			credentialTypes: [new TotvsSftp()],
			credentials: {
				deadSftp: {
					type: 'totvsSftp',
					name: 'Off-site SFTP (down)',
					data: {
						host: '127.0.0.1',
						port: 1,
						username: 'backup',
						authentication: 'password',
						password: 'not-used-secret',
						hostFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
						folder: '',
					},
				},
			},
		},
	);
}

describe('TOTVS Monitor in the n8n engine', () => {
	it('the watchdog: critical when the newest full is older than its limit, ok after a new backup', async () => {
		const stale = await watchdog({});
		expect(stale.error).toBeUndefined();
		const [item] = stale.jsonOf('Alert');
		expect(item).toMatchObject({ environment: 'prod', status: 'critical' });
		expect((item.reasons as IDataObject[]).map((r) => [r.code, r.severity])).toEqual([['stale-backup', 'critical']]);
		expect(item.summary).toMatch(
			/^prod: CRITICAL: The newest full of postgres \(prod-\S+\) is 30\.0 h old, over the 26 h limit/,
		);
		expect((item.reasons as IDataObject[])[0].message).toBe((item.reasons as IDataObject[])[0].en);
		expect(item.figures).toMatchObject({
			newest: [{ engine: 'postgres', type: 'full', copies: 1, bytes: 2048 }],
			restoreTests: { count: 1, last: { passed: true, rtoMs: 120_000 } },
		});

		// A new backup arrives: the next run is ok.
		await syntheticSet(root, 'full', new Date(Date.now() - HOUR), { bytes: 2100 });
		const fresh = await watchdog({});
		const [ok] = fresh.jsonOf('Alert');
		expect(ok).toMatchObject({ environment: 'prod', status: 'ok', reasons: [] });
		expect(ok.summary).toMatch(
			/^prod: OK: newest backup prod-\S+ 60 min old, on 1 destination; last restore test passed 28\.0 h ago\.$/,
		);

		// The thresholds are parameters; the summary speaks Portuguese when asked.
		const strict = await watchdog({ thresholds: { maxFullAgeHours: 0.5 }, options: { language: 'pt-BR' } });
		const [late] = strict.jsonOf('Alert');
		expect(late.status).toBe('critical');
		expect(late.summary).toMatch(/^prod: CRÍTICO: O backup full mais recente de postgres/);
	});

	it('an unreachable server is a critical item naming it, not a failed workflow', async () => {
		const result = await watchdog(
			{ destinations: ['local', 'sftp'], minCopies: 1 },
			{ credentials: { totvsSftp: { id: 'deadSftp', name: 'Off-site SFTP (down)' } } },
		);
		expect(result.error).toBeUndefined();
		const [item] = result.jsonOf('Alert');
		expect(item.status).toBe('critical');
		const reasons = item.reasons as IDataObject[];
		expect(reasons.map((r) => r.code)).toEqual(['destination-unreachable']);
		expect(reasons[0].destination).toMatch(/^sftp:\/\/backup@127\.0\.0\.1:1/);
		expect(JSON.stringify(item)).not.toContain('not-used-secret');
	});

	it('Prometheus output: one item with the metrics text and its content type', async () => {
		const result = await watchdog({ output: 'prometheus' });
		const items = result.jsonOf('Alert');
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({
			status: 'ok',
			contentType: 'text/plain; version=0.0.4; charset=utf-8',
			environments: [{ environment: 'prod', status: 'ok' }],
		});
		const metrics = items[0].metrics as string;
		expect(metrics).toContain('# TYPE totvs_backup_status gauge\n');
		expect(metrics).toContain('totvs_backup_status{environment="prod"} 0\n');
		expect(metrics).toMatch(
			/totvs_backup_newest_set_age_seconds\{environment="prod",engine="postgres",type="full"\} 3\d{3}\n/,
		);
		expect(metrics).toContain(`totvs_backup_destination_up{destination="file://${root}"} 1\n`);
	});

	it('HTML output: the status page as binary data, for an e-mail', async () => {
		const result = await watchdog({ output: 'html', options: { htmlBinaryProperty: 'page', language: 'pt-BR' } });
		const [output] = result.outputOf('Alert');
		expect(output.json).toMatchObject({ status: 'ok', environments: [{ environment: 'prod', status: 'ok' }] });
		expect(output.binary!.page).toMatchObject({ mimeType: 'text/html', fileExtension: 'html' });
		expect(output.binary!.page.fileName).toMatch(/^totvs-backup-status-\d{4}-\d{2}-\d{2}\.html$/);
		const html = Buffer.from(output.binary!.page.data, 'base64').toString('utf8');
		expect(html).toContain('Situação dos backups TOTVS: OK');
		expect(html).toContain('<svg ');
	});

	it('an environment name that cannot be a folder: a clear node error, before any destination is read', async () => {
		const result = await watchdog({ environments: 'prod, ../etc' });
		expect(result.error).toMatchObject({
			message: 'Environment name "../etc" cannot be used in folder names',
			description: expect.stringContaining('Use letters, digits'),
		});
	});

	it('no destination (an expression that gives none): a clear node error', async () => {
		const result = await watchdog({ destinations: '={{ [] }}' });
		expect(result.error).toMatchObject({
			message: 'No destination chosen',
			description: 'Choose at least one destination under "Destinations".',
		});
		// With On Error → Continue, a failed item with the fields of a success, so the alert branch reads them.
		const continued = await watchdog({ destinations: '={{ [] }}' }, { onError: 'continueRegularOutput' });
		expect(continued.error).toBeUndefined();
		const [item] = continued.jsonOf('Alert');
		expect(item).toMatchObject({
			status: 'failed',
			environment: null,
			reasons: [],
			figures: null,
			error: { message: 'No destination chosen' },
		});
		expect(item.summary).toBe('TOTVS Monitor FAILED: No destination chosen');
	});
});
