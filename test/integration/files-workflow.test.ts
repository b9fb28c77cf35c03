/**
 * Manual Trigger → TOTVS Dump (Protheus files, incremental) → TOTVS Verify inside n8n's real
 * engine, on a generated Protheus tree, after a full made the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INodeParameters } from 'n8n-workflow';
import { TotvsDump } from '../../nodes/TotvsDump/TotvsDump.node';
import { TotvsVerify } from '../../nodes/TotvsVerify/TotvsVerify.node';
import { createProtheusTree, type ProtheusTree } from '../../support/fixtures/protheus-tree';
import {
	MANUAL_TRIGGER_TYPE,
	PACKAGE_NAME,
	packageNodeTypes,
	runWorkflow,
	type WorkflowInput,
} from '../../support/n8n-engine';

let work: string;
let tree: ProtheusTree;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-wf-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 300, rpoBytes: 3 << 20, tables: 4 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function filesWorkflow(dump: INodeParameters, continueOnFail = false): WorkflowInput {
	return {
		nodes: [
			{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
			{
				name: 'TOTVS Dump',
				type: `${PACKAGE_NAME}.totvsDump`,
				parameters: { source: 'protheusFiles', environment: 'p12', ...dump },
				continueOnFail,
			},
			{ name: 'TOTVS Verify', type: `${PACKAGE_NAME}.totvsVerify`, parameters: {}, continueOnFail },
		],
		connections: {
			Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] },
			'TOTVS Dump': { main: [[{ node: 'TOTVS Verify', type: 'main', index: 0 }]] },
		},
	};
}

const run = (workflow: WorkflowInput) =>
	runWorkflow(workflow, { nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify()]) });

describe('TOTVS Dump (Protheus files) → TOTVS Verify in n8n', () => {
	it('makes a full, then an incremental that Verify proves, chain included', async () => {
		const staging = join(work, 'staging');
		await mkdir(staging);
		const common = { stagingFolder: staging, appserverIni: tree.appserverIni };
		const full = await run(filesWorkflow({ ...common, filesBackupType: 'full' }));
		expect(full.error).toBeUndefined();
		const fullItem = full.jsonOf('TOTVS Dump')[0];
		expect(fullItem).toMatchObject({
			type: 'full',
			engine: 'protheus-files',
			component: 'files',
			status: 'ok',
			promotedToFull: false,
		});

		await writeFile(join(tree.protheusData, 'system', 'sigafat.xnu'), '<ApMenu>alterado</ApMenu>\n');
		await writeFile(join(tree.protheusData, 'web', 'nova página.htm'), '<html>nova</html>\n');
		const incremental = await run(
			filesWorkflow({ ...common, filesBackupType: 'incremental', options: { language: 'pt-BR' } }),
		);
		expect(incremental.error).toBeUndefined();
		expect(incremental.status).toBe('success');
		const item = incremental.jsonOf('TOTVS Dump')[0];
		expect(item).toMatchObject({
			type: 'incremental',
			engine: 'protheus-files',
			baseBackupId: fullItem.backupId,
			parentBackupId: fullItem.backupId,
			archivedFiles: 2,
			changes: {
				added: 1,
				changed: 1,
				deleted: 0,
				addedPaths: ['protheus_data/web/nova página.htm'],
				changedPaths: ['protheus_data/system/sigafat.xnu'],
			},
			inconsistentFiles: [],
			status: 'ok',
		});
		expect(item.summary).toContain('incremental');
		expect(item.summary).toContain('1 novos, 1 alterados, 0 excluídos');

		const verified = incremental.jsonOf('TOTVS Verify')[0];
		expect(verified.status).toBe('ok');
		expect(verified.backupId).toBe(item.backupId); // Dump's fields pass through
		const checks = (verified.verification as { checks: Array<{ name: string; ok: boolean }> }).checks;
		expect(checks.map((c) => [c.name, c.ok])).toEqual([
			['manifest', true],
			['artifacts', true],
			['archive', true],
			['chain', true],
		]);
	});

	it('without a base: fails with what to do, or promotes to a full and says so', async () => {
		const staging = join(work, 'empty-staging');
		await mkdir(staging);
		const params = {
			stagingFolder: staging,
			folders: `${tree.protheusData}\n${tree.apo}`,
			filesBackupType: 'incremental',
		};
		const failed = await run(filesWorkflow(params, true));
		const item = failed.jsonOf('TOTVS Dump')[0];
		expect(item.status).toBe('failed');
		expect((item.error as { message: string }).message).toContain('Cannot make an incremental backup');
		expect((item.error as { description: string }).description).toContain('Promote to Full When No Base');
		expect(failed.jsonOf('TOTVS Verify')[0].status).toBe('failed'); // passed through untouched

		const promoted = await run(filesWorkflow({ ...params, options: { promoteToFull: true } }));
		expect(promoted.error).toBeUndefined();
		const full = promoted.jsonOf('TOTVS Dump')[0];
		expect(full).toMatchObject({ type: 'full', promotedToFull: true, status: 'ok' });
		expect(full.promotionReason).toContain('no backup of these folders exists');
		expect(full.summary).toContain('Made a full instead of the incremental');
		expect(promoted.jsonOf('TOTVS Verify')[0].status).toBe('ok');
	});
});
