/**
 * Issue 11, item 3: every path-like and id field of a manifest is checked strictly, because
 * they are joined into local and remote paths (a set folder, a chain's parent folder, a restore).
 */
import { parseManifest, serializeManifest, type Manifest } from '../../../core/backup-set/manifest';
import { sampleManifest } from '../../fixtures/manifest';

const parse = (manifest: unknown) => parseManifest(JSON.stringify(manifest), 'm.json');
const withArtifactPath = (path: string) => {
	const manifest = sampleManifest();
	manifest.artifacts[0].path = path;
	return manifest;
};

describe('artifact paths', () => {
	it('refuses a newline that hides ".." from a line-based check (reproduced: path.join made it /tmp/pwn)', () => {
		expect(() => parse(withArtifactPath('x\n/../../../../tmp/pwn'))).toThrow(/artifacts\[0\]\.path/);
	});

	it.each([
		['..', 'a ".." segment'],
		['../etc/passwd', 'a ".." segment'],
		['a/../../b', 'a ".." segment'],
		['/abs/file', 'absolute'],
		['a\\..\\..\\b', 'backslash'],
		['archive\\toc.dat', 'backslash'],
		['tab\tname', 'control character'],
		['bell\u0007', 'control character'],
		['del\u007f', 'control character'],
		['nul\u0000', 'NUL'],
		['a//b', 'empty or "." segment'],
		['./a', 'empty or "." segment'],
		['a/', 'empty or "." segment'],
		['', 'empty'],
		['C:/Windows/x', 'drive letter'],
		['manifest.json', 'reserved'],
	])('refuses %j (%s)', (path, why) => {
		expect(() => parse(withArtifactPath(path))).toThrow(
			new RegExp(`artifacts\\[0\\]\\.path: .*${why.replace(/[.()]/g, '\\$&')}`),
		);
	});

	it('accepts the paths our sources write', () => {
		for (const path of ['protheus.dump', 'archive/toc.dat', 'archive/3021.dat.gz', 'files-full.tar.zst', 'P12 db.bak'])
			expect(parse(withArtifactPath(path)).artifacts[0].path).toBe(path);
	});
});

describe('ids', () => {
	const bad: Array<[string, Partial<Manifest>, RegExp]> = [
		[
			'a base id that climbs out of the environment folder',
			{ type: 'differential', baseBackupId: '../../../tmp/x', parentBackupId: null },
			/baseBackupId/,
		],
		[
			'a parent id with a slash',
			{ type: 'incremental', parentBackupId: 'prod-20261125T020000Z-full-db/../x' },
			/parentBackupId/,
		],
		[
			'a parent id of another environment',
			{ type: 'incremental', parentBackupId: 'homolog-20261125T020000Z-full-db' },
			/parentBackupId/,
		],
		[
			'a parent id with a newline',
			{ type: 'incremental', parentBackupId: 'prod-20261125T020000Z-full-db\n' },
			/parentBackupId/,
		],
		['a backupId that is not an id', { backupId: 'prod-anything' }, /backupId/],
		['a backupId of another environment', { backupId: 'homolog-20261126T020000Z-full-db' }, /backupId/],
		['a backupId with a dot-dot environment part', { backupId: '..-20261126T020000Z-full-db' }, /backupId/],
		['an environment with a slash', { environment: 'prod/../x' }, /environment/],
		['a restore point id with a slash', { restorePointId: 'prod-20261126T020000Z-rp-abc/../x' }, /restorePointId/],
	];
	it.each(bad)('refuses %s', (_what, overrides, field) => {
		expect(() => parse(sampleManifest(overrides))).toThrow(field);
	});

	it('accepts the ids makeBackupId and restore points write', () => {
		const chained = sampleManifest({
			backupId: 'P12-homolog-20261127T020000Z-incremental-db-2',
			environment: 'P12-homolog',
			type: 'incremental',
			baseBackupId: 'P12-homolog-20261126T020000Z-full-db',
			parentBackupId: 'P12-homolog-20261126T140000Z-differential-db',
			restorePointId: 'P12-homolog-20261127T020000Z-rp-0a1b2c',
		});
		expect(parse(chained)).toEqual(chained);
		expect(() => serializeManifest(chained)).not.toThrow();
	});
});

describe('files inventory', () => {
	const filesManifest = (entry: Record<string, unknown>) =>
		sampleManifest({
			backupId: 'prod-20261126T020000Z-full-files',
			component: 'files',
			engine: 'protheus-files',
			source: {
				host: 'app01',
				platform: 'linux',
				roots: [{ label: 'protheus_data', path: '/totvs/protheus_data', kind: 'folder' }],
				appserverIni: null,
				include: [],
				exclude: [],
				changeDetection: 'size-mtime',
				archiver: 'tar-stream + zstd',
			},
			artifacts: [{ path: 'files.tar.zst', bytes: 10, sha256: 'a'.repeat(64), kind: 'tar' }],
			inventory: {
				engine: 'protheus-files',
				entries: [
					{
						path: 'protheus_data/system/sx2.dtc',
						type: 'file',
						size: 1,
						mtime: '2026-11-26T02:00:00.000Z',
						mode: 0o644,
						sha256: 'b'.repeat(64),
						target: null,
						from: 'prod-20261126T020000Z-full-files',
						...entry,
					},
				],
				changes: { added: [], changed: [], deleted: [] },
				inconsistent: [],
				skipped: [],
				promotedToFull: null,
				totals: { files: 1, dirs: 0, symlinks: 0, bytes: 1, archivedFiles: 1, archivedBytes: 1 },
			},
		} as unknown as Partial<Manifest>);

	it('is valid as our files source writes it', () => {
		expect(() => parse(filesManifest({}))).not.toThrow();
	});

	it('refuses an entry path hiding ".." after a newline', () => {
		expect(() => parse(filesManifest({ path: 'protheus_data/x\n/../../../../tmp/pwn' }))).toThrow(/entries\[0\]\.path/);
	});

	it('refuses a "from" that is not a backupId of the environment (it names a set folder to read)', () => {
		expect(() => parse(filesManifest({ from: '../../etc' }))).toThrow(/entries\[0\]\.from/);
	});
});
