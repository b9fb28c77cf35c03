import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { listSets, readSet } from '../../../core/backup-set/catalog';
import { serializeManifest } from '../../../core/backup-set/manifest';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { BackupError } from '../../../core/errors';
import { hashFile } from '../../../core/pipeline/hashing';
import { sampleManifest } from '../../fixtures/manifest';
import { mountSmallDisk } from '../../../support/small-disk';

const at = new Date('2026-11-26T02:00:00Z');
let root: string;
beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'totvs-writer-'));
});
afterEach(async () => {
	await rm(root, { recursive: true, force: true });
});

async function writeSet(data: Buffer, when = at) {
	const set = await BackupSetWriter.create(root, 'prod', 'full', 'database', when);
	const artifact = await set.writeArtifact(
		'protheus.dump',
		'pg_dump-custom',
		Readable.from([data.subarray(0, 100), data.subarray(100)]),
	);
	const manifestPath = await set.commit(sampleManifest({ backupId: set.backupId, artifacts: [artifact] }));
	return { set, artifact, manifestPath };
}

describe('BackupSetWriter', () => {
	it('hashes artifacts as it writes and writes the manifest last', async () => {
		const data = randomBytes(300_000);
		const { set, artifact, manifestPath } = await writeSet(data);
		expect(set.folder).toBe(join(root, 'prod', 'prod-20261126T020000Z-full-db'));
		expect(artifact).toEqual({
			path: 'protheus.dump',
			kind: 'pg_dump-custom',
			bytes: data.length,
			sha256: createHash('sha256').update(data).digest('hex'),
		});
		expect(await readFile(join(set.folder, 'protheus.dump'))).toEqual(data);
		expect((await readSet(set.folder)).artifacts).toEqual([artifact]);
		expect(manifestPath).toBe(join(set.folder, 'manifest.json'));
		expect(await readdir(set.folder)).toEqual(['manifest.json', 'protheus.dump']);
	});

	it('never reuses an existing set folder: a second set in the same second gets a suffix', async () => {
		const first = await writeSet(randomBytes(10));
		const second = await writeSet(randomBytes(10));
		expect(second.set.backupId).toBe(`${first.set.backupId}-2`);
		expect((await readSet(first.set.folder)).backupId).toBe(first.set.backupId);
	});

	it('abort removes the unfinished set and nothing else', async () => {
		const kept = await writeSet(randomBytes(1000));
		const set = await BackupSetWriter.create(root, 'prod', 'full', 'database', new Date('2026-11-27T02:00:00Z'));
		await set.writeArtifact('protheus.dump', 'pg_dump-custom', Readable.from([randomBytes(10)]));
		await set.abort();
		expect(await readdir(join(root, 'prod'))).toEqual([kept.set.backupId]);
		expect((await readSet(kept.set.folder)).backupId).toBe(kept.set.backupId);
	});

	it('fails the artifact when the source stream fails, so no hash of partial data is reported', async () => {
		const set = await BackupSetWriter.create(root, 'prod', 'full', 'database', at);
		const failing = new Readable({
			read() {
				this.destroy(new Error('pg_dump connection lost'));
			},
		});
		await expect(set.writeArtifact('protheus.dump', 'pg_dump-custom', failing)).rejects.toThrow(
			'pg_dump connection lost',
		);
		expect(set.artifacts).toEqual([]);
		await set.abort();
		expect(await readdir(join(root, 'prod'))).toEqual([]);
	});
});

describe('catalog', () => {
	it('lists complete sets oldest first, and reports unfinished and invalid ones apart', async () => {
		const newer = await writeSet(randomBytes(10), new Date('2026-11-27T02:00:00Z'));
		const older = await writeSet(randomBytes(10), at);
		await mkdir(join(root, 'prod', 'prod-20261128T020000Z-full-db')); // interrupted: no manifest
		const broken = join(root, 'prod', 'prod-20261129T020000Z-full-db');
		await mkdir(broken);
		await writeFile(join(broken, 'manifest.json'), serializeManifest(sampleManifest()).slice(0, 50));

		const catalog = await listSets(root);
		expect(catalog.sets.map((s) => s.backupId)).toEqual([older.set.backupId, newer.set.backupId]);
		expect(catalog.unfinished.map((s) => s.backupId)).toEqual(['prod-20261128T020000Z-full-db']);
		expect(catalog.invalid).toHaveLength(1);
		expect(catalog.invalid[0].reason).toMatch(/not valid JSON/);
	});

	it('says a folder without manifest is unfinished', async () => {
		await mkdir(join(root, 'x'));
		await expect(readSet(join(root, 'x'))).rejects.toThrow(/manifest.json is missing/);
		await expect(readSet(join(root, 'x'))).rejects.toBeInstanceOf(BackupError);
	});
});

describe('streaming hash', () => {
	it('hashes a file larger than any buffer in chunks', async () => {
		const data = randomBytes(5 * 1024 * 1024 + 7);
		const path = join(root, 'big');
		await writeFile(path, data);
		expect(await hashFile(path)).toEqual({
			bytes: data.length,
			sha256: createHash('sha256').update(data).digest('hex'),
		});
	});
});

describe('full disk (real tmpfs)', () => {
	const disk = mountSmallDisk(1024 * 1024);
	if (typeof disk === 'string') {
		it.skip(`skipped: ${disk}`, () => undefined);
		return;
	}
	afterAll(() => disk.unmount());

	it('reports DISK_FULL with what to do, and removes only the unfinished set', async () => {
		const earlier = join(disk.path, 'prod', 'earlier-set');
		await mkdir(earlier, { recursive: true });
		await writeFile(join(earlier, 'keep.txt'), 'user data');
		const set = await BackupSetWriter.create(disk.path, 'prod', 'full', 'database', at);
		const error = await set
			.writeArtifact('protheus.dump', 'pg_dump-custom', Readable.from([randomBytes(3 * 1024 * 1024)]))
			.catch((e) => e);
		expect(error).toBeInstanceOf(BackupError);
		expect(error.code).toBe('DISK_FULL');
		expect(error.message).toMatch(/No space left in staging folder/);
		expect(error.hint).toMatch(/Free space/);
		await set.abort();
		expect(await readdir(join(disk.path, 'prod'))).toEqual(['earlier-set']);
		expect(await readFile(join(earlier, 'keep.txt'), 'utf8')).toBe('user data');
	});
});
