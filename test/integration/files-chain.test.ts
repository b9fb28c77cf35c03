/**
 * Protheus file-tree sets on a generated Protheus-like tree: a full and several incrementals
 * with edits, deletions, renames, new and removed folders, mode and link changes; each point
 * of the chain restored into its own folder and compared byte for byte (and modes, mtimes,
 * links, empty folders) with what the source held when that set was made. Then a
 * differential, and verification of every set.
 */
import {
	appendFile,
	chmod,
	mkdir,
	readFile,
	rename,
	rm,
	stat,
	symlink,
	unlink,
	utimes,
	writeFile,
} from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupResult } from '../../core/backup';
import { manifestOf } from '../../core/backup-set/manifest';
import { restoreFilesChain } from '../../core/sources/protheus-files/restore/chain-restore';
import { verifyLocalSet } from '../../core/verify/verify-set';
import {
	age,
	createProtheusTree,
	filesBackup,
	snapshotTree,
	type ProtheusTree,
	type TreeNode,
} from '../../support/fixtures/protheus-tree';

let work: string;
let tree: ProtheusTree;
let staging: string;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 1200 });
	staging = join(work, 'staging');
	await mkdir(staging);
});
afterAll(() =>
	process.env.KEEP_FILES_TEST ? console.warn(`kept ${work}`) : rmSync(work, { recursive: true, force: true }),
);

const fromIni = () => ({ appserverIni: tree.appserverIni });

/**
 * What a restore of the tree must hold, computed independently of the source code: the
 * appserver.ini, the RPO folder, and Protheus_Data without systemload/, spool/, *.tmp, *.log.
 */
async function expectedState(): Promise<Map<string, TreeNode>> {
	const out = new Map<string, TreeNode>();
	const data = await snapshotTree(tree.protheusData);
	out.set('protheus_data', (await snapshotTree(tree.root)).get('protheus_data')!);
	for (const [path, node] of data) {
		if (/^(systemload|spool)(\/|$)/.test(path) || /\.(tmp|log)$/.test(path)) continue;
		out.set(`protheus_data/${path}`, node);
	}
	const apo = await snapshotTree(tree.root);
	out.set('apo', apo.get('apo')!);
	for (const [path, node] of apo) if (path.startsWith('apo/')) out.set(path, node);
	out.set('appserver.ini', apo.get('bin/appserver/appserver.ini')!);
	return out;
}

function compareTrees(actual: Map<string, TreeNode>, expected: Map<string, TreeNode>) {
	expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
	for (const [path, want] of expected) {
		const got = actual.get(path)!;
		const pick = (n: TreeNode) => ({
			path,
			type: n.type,
			size: n.size,
			sha256: n.sha256,
			target: n.target,
			mode: n.type === 'symlink' ? 0 : n.mode,
			mtimeMs: n.type === 'symlink' ? 0 : n.mtimeMs,
		});
		expect(pick(got)).toEqual(pick(want));
	}
}

/** Restores `set` and compares with `expected`; `live`: the source still holds that point, compare bytes too. */
async function restoreAndCompare(set: BackupResult, expected: Map<string, TreeNode>, name: string, live = true) {
	const target = join(work, 'restore', name);
	const result = await restoreFilesChain({ setFolder: set.folder, target });
	compareTrees(await snapshotTree(target), expected);
	// Byte for byte, not only by hash, for the RPOs and an accented name.
	for (const path of live
		? ['apo/tttm120.rpo', 'apo/custom.rpo', 'protheus_data/dirdoc/co01/Nota Fiscal nº 123 - São Paulo.xml']
		: []) {
		expect((await readFile(join(target, path))).equals(await readFile(join(tree.root, path)))).toBe(true);
	}
	return result;
}

describe('Protheus file sets: full, incrementals, differential', () => {
	const points: Array<{ set: BackupResult; state: Map<string, TreeNode> }> = [];

	it('makes a full set of what appserver.ini points at, with the Protheus defaults', async () => {
		const full = await filesBackup(staging, 'full', fromIni());
		const m = manifestOf(full.manifest, 'protheus-files');
		expect(m.type).toBe('full');
		expect(m.baseBackupId).toBeNull();
		expect(m.source.roots.map((r) => [r.label, r.kind])).toEqual([
			['appserver.ini', 'file'],
			['protheus_data', 'folder'],
			['apo', 'folder'],
		]);
		expect(m.source.appserverIni?.environments).toEqual(['P12']);
		expect(m.compression.method).toBe('zstd');
		expect(m.artifacts.map((a) => a.path)).toEqual(['files.tar.zst']);
		const paths = m.inventory.entries.map((e) => e.path);
		expect(paths).toContain('protheus_data/web/empty folder');
		expect(paths).toContain('protheus_data/dirdoc/co01/Relatório de Vendas março.txt');
		expect(paths.filter((p) => /systemload|spool|\.tmp$|\.log$/.test(p))).toEqual([]);
		expect(m.inventory.entries.find((e) => e.path === 'protheus_data/system/menu-padrao.xnu')).toMatchObject({
			type: 'symlink',
			target: 'sigacom.xnu',
		});
		expect(m.inventory.entries.find((e) => e.path === 'protheus_data/system/sigapss.spf')?.mode).toBe(0o600);
		expect(m.inventory.totals.files).toBe(m.inventory.totals.archivedFiles);
		points.push({ set: full, state: await expectedState() });
	});

	it('records edits, deletions, renames, new folders, mode and link changes in incrementals', async () => {
		const d = tree.protheusData;
		// Incremental 1: same-size edit, growth, deletion, rename with accents, new folder, chmod, relink.
		await age(join(d, 'system/sx2010.dtc'), 0); // make sure the mtime moves even on a coarse clock
		const dtc = await readFile(join(d, 'system/sx2010.dtc'));
		dtc.write('ALTERADO', 1000, 'latin1');
		await writeFile(join(d, 'system/sx2010.dtc'), dtc);
		await appendFile(join(tree.apo, 'custom.rpo'), Buffer.alloc(70_000, 7));
		await unlink(join(d, 'web/000/arquivo 1.htm'));
		await rename(
			join(d, 'dirdoc/co01/Relatório de Vendas março.txt'),
			join(d, 'dirdoc/co01/Relatório de Vendas abril.txt'),
		);
		await mkdir(join(d, 'profile/novo usuário/configurações'), { recursive: true });
		await writeFile(join(d, 'profile/novo usuário/configurações/preferências.prf'), 'idioma=pt-BR\n');
		await chmod(join(d, 'system/sigamat.emp'), 0o640);
		await unlink(join(d, 'system/menu-padrao.xnu'));
		await symlink('sigafat.xnu', join(d, 'system/menu-padrao.xnu'));
		const i1 = await filesBackup(staging, 'incremental', fromIni());
		const m1 = manifestOf(i1.manifest, 'protheus-files');
		expect(m1.type).toBe('incremental');
		expect(m1.parentBackupId).toBe(points[0].set.manifest.backupId);
		expect(m1.baseBackupId).toBe(points[0].set.manifest.backupId);
		expect(m1.inventory.changes.added.sort()).toEqual(
			[
				'protheus_data/dirdoc/co01/Relatório de Vendas abril.txt',
				'protheus_data/profile/novo usuário',
				'protheus_data/profile/novo usuário/configurações',
				'protheus_data/profile/novo usuário/configurações/preferências.prf',
			].sort(),
		);
		expect(m1.inventory.changes.changed.sort()).toEqual(
			['apo/custom.rpo', 'protheus_data/system/menu-padrao.xnu', 'protheus_data/system/sx2010.dtc'].sort(),
		);
		expect(m1.inventory.changes.deleted.sort()).toEqual(
			['protheus_data/dirdoc/co01/Relatório de Vendas março.txt', 'protheus_data/web/000/arquivo 1.htm'].sort(),
		);
		// Only what changed has content in the archive; the rest points at the full.
		expect(m1.inventory.totals.archivedFiles).toBe(4);
		expect(m1.inventory.entries.find((e) => e.path === 'apo/tttm120.rpo')?.from).toBe(points[0].set.manifest.backupId);
		expect(m1.inventory.entries.find((e) => e.path === 'apo/custom.rpo')?.from).toBe(m1.backupId);
		points.push({ set: i1, state: await expectedState() });

		// Incremental 2: a whole folder deleted, a file replaced by a folder, an empty folder added and one removed.
		await rm(join(d, 'profile/000'), { recursive: true });
		await unlink(join(d, 'system/sigafat.xnu'));
		await mkdir(join(d, 'system/sigafat.xnu'));
		await writeFile(join(d, 'system/sigafat.xnu/menu.xml'), '<menu/>\n');
		await rm(join(d, 'web/empty folder'), { recursive: true });
		await mkdir(join(d, 'dirdoc/co03/nova vazia'), { recursive: true });
		const i2 = await filesBackup(staging, 'incremental', fromIni());
		const m2 = manifestOf(i2.manifest, 'protheus-files');
		expect(m2.parentBackupId).toBe(i1.manifest.backupId);
		expect(m2.baseBackupId).toBe(points[0].set.manifest.backupId);
		expect(m2.inventory.changes.deleted).toEqual(
			expect.arrayContaining(['protheus_data/profile/000', 'protheus_data/web/empty folder']),
		);
		expect(m2.inventory.changes.changed).toEqual(['protheus_data/system/sigafat.xnu']);
		points.push({ set: i2, state: await expectedState() });

		// Incremental 3: nothing but one small edit.
		await appendFile(join(d, 'profile/004/arquivo 1000.prf'), 'x');
		const i3 = await filesBackup(staging, 'incremental', fromIni());
		const m3 = manifestOf(i3.manifest, 'protheus-files');
		expect(m3.inventory.changes).toEqual({
			added: [],
			changed: ['protheus_data/profile/004/arquivo 1000.prf'],
			deleted: [],
		});
		expect(m3.inventory.totals.archivedFiles).toBe(1);
		points.push({ set: i3, state: await expectedState() });
	});

	it('restores every point of the chain exactly as the source was', async () => {
		expect(points).toHaveLength(4);
		for (let i = 0; i < points.length; i++) {
			const result = await restoreAndCompare(points[i].set, points[i].state, `point-${i}`, i === points.length - 1);
			expect(result.chain).toEqual(points.slice(0, i + 1).map((p) => p.set.manifest.backupId));
			expect(result.refusedLinks).toEqual([]);
		}
	});

	it('verifies every set of the chain: artifacts, archive walk, chain', async () => {
		for (const { set } of points) {
			const { verification } = await verifyLocalSet(set.folder);
			expect(verification.checks.map((c) => [c.name, c.ok])).toEqual([
				['manifest', true],
				['artifacts', true],
				['archive', true],
				['chain', true],
			]);
		}
	});

	it('makes a differential against the full, and restores it in two steps', async () => {
		await writeFile(join(tree.protheusData, 'system/sx2010.idx'), 'reindexado\n');
		const diff = await filesBackup(staging, 'differential', fromIni());
		const m = manifestOf(diff.manifest, 'protheus-files');
		const full = points[0].set.manifest.backupId;
		expect([m.type, m.baseBackupId, m.parentBackupId]).toEqual(['differential', full, full]);
		// Everything since the full, including what the incrementals already had.
		expect(m.inventory.changes.changed).toEqual(
			expect.arrayContaining([
				'apo/custom.rpo',
				'protheus_data/system/sx2010.idx',
				'protheus_data/profile/004/arquivo 1000.prf',
			]),
		);
		expect(m.inventory.changes.deleted).toEqual(
			expect.arrayContaining(['protheus_data/web/000/arquivo 1.htm', 'protheus_data/profile/000']),
		);
		const result = await restoreAndCompare(diff, await expectedState(), 'differential');
		expect(result.chain).toEqual([full, m.backupId]);
		expect((await verifyLocalSet(diff.folder)).verification.ok).toBe(true);

		// The next incremental builds on the differential (the newest set).
		await writeFile(join(tree.protheusData, 'web/nova página.htm'), '<html/>');
		const next = await filesBackup(staging, 'incremental', fromIni());
		expect(next.manifest.parentBackupId).toBe(m.backupId);
		await restoreAndCompare(next, await expectedState(), 'after-differential');
	});

	it('in paranoid mode finds a content change that kept size and mtime', async () => {
		const path = join(tree.protheusData, 'system/sigamat.emp');
		const before = await readFile(path);
		const { mtimeMs } = await stat(path);
		const edited = Buffer.from(before);
		edited[10] ^= 0xff;
		await writeFile(path, edited);
		const sameMs = (Math.floor(mtimeMs) + 0.0005) / 1000; // seconds as a double: aim inside the same millisecond
		await utimes(path, sameMs, sameMs);
		const plain = await filesBackup(staging, 'incremental', fromIni());
		expect(manifestOf(plain.manifest, 'protheus-files').inventory.changes.changed).not.toContain(
			'protheus_data/system/sigamat.emp',
		);
		const paranoid = await filesBackup(staging, 'incremental', { ...fromIni(), paranoid: true });
		const m = manifestOf(paranoid.manifest, 'protheus-files');
		expect(m.source.changeDetection).toBe('sha256');
		expect(m.inventory.changes.changed).toEqual(['protheus_data/system/sigamat.emp']);
		await restoreAndCompare(paranoid, await expectedState(), 'paranoid');
	});
});
