/**
 * PostgreSQL point in time inside a real n8n 2.x (the packed package as a community package),
 * against a real PostgreSQL 15 whose data keeps changing: a nightly base workflow and an
 * every-5-minutes incremental workflow (real Schedule Triggers in the JSON; the test runs their
 * test copies with n8n's CLI instead of waiting on the schedule), then a restore test to a
 * chosen minute passes every check. The measured RPO (target time minus the last transaction
 * the recovered cluster holds) is printed.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { N8nInstance } from '../../support/n8n-env';
import { startPitrServer, type PitrServer } from '../../support/pitr-server';
import { createRole } from '../../support/postgres';
import { testCopy } from './example-test-copy';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	succeeded,
	type WorkflowJson,
} from './n8n-cli';
import { DUMP_TYPE, RESTORE_TEST_TYPE } from './node-types';

const CREDENTIAL = 'E2ePitrCred00001';
let instance: N8nInstance;
let server: PitrServer;
let staging: string;
let scratch: string;

const node = (
	id: string,
	name: string,
	type: string,
	position: [number, number],
	rest: Record<string, unknown> = {},
) => ({
	id: `${id}-${name}`.replace(/\W/g, '-'),
	name,
	type,
	typeVersion: 1,
	position,
	parameters: {},
	...rest,
});

/** Schedule Trigger → TOTVS Dump (PostgreSQL (Point in Time)) with the given action. */
function dumpWorkflow(id: string, action: 'full' | 'incremental', rule: Record<string, unknown>): WorkflowJson {
	return {
		id,
		name: `e2e ${id}`,
		active: false,
		nodes: [
			node(id, 'Schedule', 'n8n-nodes-base.scheduleTrigger', [0, 0], { typeVersion: 1.2, parameters: { rule } }),
			node(id, 'TOTVS Dump', DUMP_TYPE, [220, 0], {
				parameters: {
					source: 'postgresPitr',
					environment: 'erp',
					stagingFolder: staging,
					pitrAction: action,
					pitrOptions: {},
				},
				credentials: { totvsPostgres: { id: CREDENTIAL, name: CREDENTIAL } },
			}),
		],
		connections: { Schedule: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

function restoreTestWorkflow(target: Date): WorkflowJson {
	const id = 'E2ePitrRestoreT1';
	return {
		id,
		name: `e2e ${id}`,
		active: false,
		nodes: [
			node(id, 'Start', 'n8n-nodes-base.manualTrigger', [0, 0]),
			node(id, 'TOTVS Restore Test', RESTORE_TEST_TYPE, [220, 0], {
				parameters: {
					operation: 'pointInTime',
					setSource: 'folder',
					backupsFolder: staging,
					environment: 'erp',
					pitrTarget: 'time',
					pitrTargetTime: target.toISOString(),
					options: { scratchFolder: scratch },
				},
			}),
		],
		connections: { Start: { main: [[{ node: 'TOTVS Restore Test', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

const insert = (rows: number, tag: string) =>
	server.admin('INSERT INTO invoices (tag, total) SELECT $2, g * 1.5 FROM generate_series(1, $1) g', 'erp', [
		rows,
		tag,
	]);

let nightly: WorkflowJson;
let every5: WorkflowJson;

beforeAll(async () => {
	staging = mkdtempSync(path.join(os.tmpdir(), 'totvs-pitr-e2e-'));
	scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-pitr-e2e-scratch-'));
	chmodSync(scratch, 0o755);
	[instance, server] = await Promise.all([freshInstance('pitr'), startPitrServer()]);
	await createRole(server, 'backup', 'secret', { replication: true, memberOf: ['pg_read_all_data'] });
	await server.admin('CREATE DATABASE erp');
	await server.admin('CREATE TABLE invoices (id serial PRIMARY KEY, tag text, total numeric)', 'erp');
	await importCredentials(instance, [
		{
			id: CREDENTIAL,
			name: CREDENTIAL,
			type: 'totvsPostgres',
			data: {
				host: server.host,
				port: server.port,
				database: 'erp',
				user: 'backup',
				password: 'secret',
				sslMode: 'disable',
				binFolder: server.binDir,
			},
		},
	]);
	nightly = dumpWorkflow('E2ePitrNightly01', 'full', { interval: [{ triggerAtHour: 2 }] });
	every5 = dumpWorkflow('E2ePitrEvery5m01', 'incremental', { interval: [{ field: 'minutes', minutesInterval: 5 }] });
	for (const workflow of [nightly, every5]) await importWorkflow(instance, testCopy(workflow));
}, 30 * 60_000);

afterAll(async () => {
	printTimings('pitr.e2e.ts');
	await server?.stop();
	for (const folder of [staging, scratch]) if (folder) rmSync(folder, { recursive: true, force: true });
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
});

test('nightly base and 5-minute incrementals on a changing database; a restore test to a chosen minute passes every check', async () => {
	// The workflows users import have the schedules the issue asks for.
	const rule = (w: WorkflowJson) => (w.nodes[0].parameters as { rule: unknown }).rule;
	expect(rule(every5)).toEqual({ interval: [{ field: 'minutes', minutesInterval: 5 }] });
	expect(nightly.nodes[0].type).toBe('n8n-nodes-base.scheduleTrigger');

	await insert(500, 'before base');
	const base = nodeOutputs(succeeded(await executeWorkflow(instance, testCopy(nightly))), 'TOTVS Dump')[0][0];
	expect(base).toMatchObject({ status: 'ok', engine: 'postgres-pitr', type: 'full' });

	// The database keeps changing between incremental runs; the target is a time between two batches.
	await insert(300, 'batch 1');
	const first = nodeOutputs(succeeded(await executeWorkflow(instance, testCopy(every5))), 'TOTVS Dump')[0][0];
	expect(first).toMatchObject({ status: 'ok', type: 'incremental', parentBackupId: base.backupId });
	await insert(200, 'batch 2');
	await new Promise((r) => setTimeout(r, 2000));
	const target = (await server.admin<{ t: Date }>('SELECT clock_timestamp() AS t'))[0].t;
	await new Promise((r) => setTimeout(r, 2000));
	await insert(100, 'batch 3');
	const second = nodeOutputs(succeeded(await executeWorkflow(instance, testCopy(every5))), 'TOTVS Dump')[0][0];
	expect(second).toMatchObject({ status: 'ok', type: 'incremental', parentBackupId: first.backupId });
	expect((second.slot as { retainedBytes: number }).retainedBytes).toBeGreaterThanOrEqual(0);

	const workflow = restoreTestWorkflow(target);
	await importWorkflow(instance, workflow);
	const tested = nodeOutputs(succeeded(await executeWorkflow(instance, workflow)), 'TOTVS Restore Test')[0][0];
	const report = tested.restoreTest as {
		passed: boolean;
		checks: Array<{ name: string; ok: boolean; message: string }>;
		reachedTransactionTime: string;
		gapMs: number;
		rtoMs: number;
	};
	expect(report.checks.filter((c) => !c.ok)).toEqual([]);
	expect(report.passed).toBe(true);
	const reached = new Date(report.reachedTransactionTime).getTime();
	expect(reached).toBeLessThanOrEqual(target.getTime());
	console.log(
		`PITR e2e: restore test to ${target.toISOString()} reached the transaction of ${report.reachedTransactionTime}: measured RPO ${report.gapMs} ms (target minus last transaction), RTO ${report.rtoMs} ms; ${String(tested.summary)}`,
	);
});
