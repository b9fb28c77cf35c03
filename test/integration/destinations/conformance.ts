/**
 * The one conformance suite every Destination must pass (local, SFTP, FTP, FTPS explicit and
 * implicit, Google Drive emulator). Called from conformance.test.ts once per destination.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPartialName, type Destination, type VerificationMethod } from '../../../core/destinations';

export interface ConformanceTarget {
	destination: Destination;
	/** What put() reports as its check on this backend (without readBack). */
	expectedVerification: VerificationMethod;
	/** Secrets that must never appear in describe(). */
	secrets: string[];
	/** A second, independent destination object on the same place (for races); optional. */
	another?: () => Destination;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * `unavailable` says, when the tests are collected, why this destination cannot run here (a
 * server not installed): its tests are then reported as skipped, with the reason in the title.
 * `setup` runs in beforeAll and returns the target.
 */
export function describeDestination(
	name: string,
	unavailable: string | undefined,
	setup: () => Promise<ConformanceTarget>,
	teardown?: () => Promise<void>,
	{ atomicCreate = true, emptyFiles = true }: { atomicCreate?: boolean; emptyFiles?: boolean } = {},
): void {
	const suite = unavailable ? describe.skip : describe;
	suite(`Destination conformance: ${name}${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
		let target: ConformanceTarget;
		let scratch: string;
		let root: string;

		beforeAll(async () => {
			target = await setup();
			scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-conformance-'));
			root = `conf-${randomBytes(3).toString('hex')}`;
		});
		afterAll(async () => {
			await target?.destination.close();
			if (scratch) rmSync(scratch, { recursive: true, force: true });
			await teardown?.();
		});

		const check = (title: string, body: (target: ConformanceTarget) => Promise<void>) => it(title, () => body(target));

		const localFile = (bytes: number | Buffer, fileName = randomBytes(4).toString('hex')) => {
			const data = typeof bytes === 'number' ? randomBytes(bytes) : bytes;
			const file = path.join(scratch, fileName);
			writeFileSync(file, data);
			return { file, data };
		};

		check('describe() names the place and hides every secret', async ({ destination, secrets }) => {
			const text = destination.describe();
			expect(text).toMatch(/^[a-z]+:\/\//);
			for (const secret of secrets) expect(text).not.toContain(secret);
		});

		check(
			'put uploads into new nested folders, verifies, and the bytes come back intact',
			async ({ destination, expectedVerification }) => {
				// 1 MiB + 123: several SFTP writes, several Drive chunks in the emulator setup, odd tail.
				const { file, data } = localFile((1 << 20) + 123);
				const remote = `${root}/prod/prod-20261126T020000Z-full-db/database.dump`;
				const result = await destination.put(file, remote);
				expect(result).toMatchObject({
					remotePath: remote,
					bytes: data.length,
					sha256: sha256(data),
					verifiedBy: expectedVerification,
					resumedFrom: 0,
				});
				expect(result.remote.size).toBe(data.length);
				if (expectedVerification === 'sha256') expect(result.remote.sha256).toBe(sha256(data));

				const stat = await destination.stat(remote);
				expect(stat?.size).toBe(data.length);

				const back = path.join(scratch, 'back', 'database.dump');
				const got = await destination.get(remote, back);
				expect(got).toMatchObject({ bytes: data.length, sha256: sha256(data) });
				expect(readFileSync(back).equals(data)).toBe(true);
			},
		);

		check(
			'list shows files with sizes and folders as folders, and no partial file after a put',
			async ({ destination }) => {
				const { file, data } = localFile(4321);
				await destination.put(file, `${root}/listing/set-a/one.bin`);
				await destination.put(file, `${root}/listing/set-a/two.bin`);
				const sets = await destination.list(`${root}/listing`);
				expect(sets).toEqual([
					expect.objectContaining({ name: 'set-a', path: `${root}/listing/set-a`, isFolder: true }),
				]);
				const entries = (await destination.list(`${root}/listing/set-a`)).sort((a, b) => a.name.localeCompare(b.name));
				expect(entries.map((entry) => [entry.name, entry.size, entry.isFolder])).toEqual([
					['one.bin', data.length, false],
					['two.bin', data.length, false],
				]);
				expect(entries.some((entry) => isPartialName(entry.name))).toBe(false);
				for (const entry of entries) expect(entry.path).toBe(`${root}/listing/set-a/${entry.name}`);
			},
		);

		check(
			'missing things: stat is null, list is empty, remove and removeFolder do not fail',
			async ({ destination }) => {
				expect(await destination.stat(`${root}/nope/file.bin`)).toBeNull();
				expect(await destination.list(`${root}/nope`)).toEqual([]);
				await expect(destination.remove(`${root}/nope/file.bin`)).resolves.toBeUndefined();
				await expect(destination.removeFolder(`${root}/nope`)).resolves.toBeUndefined();
				expect(await destination.readSmallFile(`${root}/nope/lock.json`)).toBeNull();
			},
		);

		check('put over an existing file replaces it whole', async ({ destination }) => {
			const remote = `${root}/replace/file.bin`;
			const first = localFile(70_000);
			const second = localFile(50_000);
			await destination.put(first.file, remote);
			await destination.put(second.file, remote);
			const entries = await destination.list(`${root}/replace`);
			expect(entries.map((entry) => [entry.name, entry.size])).toEqual([['file.bin', 50_000]]);
			expect((await destination.readSmallFile(remote))?.equals(second.data)).toBe(true);
		});

		check('an empty file and names with spaces and accents round-trip', async ({ destination }) => {
			const empty = localFile(0);
			if (emptyFiles) {
				const emptyResult = await destination.put(empty.file, `${root}/odd names/vazio.bin`);
				expect(emptyResult.bytes).toBe(0);
				expect((await destination.stat(`${root}/odd names/vazio.bin`))?.size).toBe(0);
			} else {
				await expect(destination.put(empty.file, `${root}/odd names/vazio.bin`)).rejects.toMatchObject({
					code: 'UNSUPPORTED_OPTION',
				});
				await destination.put(localFile(1).file, `${root}/odd names/vazio.bin`);
			}
			const accented = localFile(Buffer.from('configuração do appserver\n', 'utf8'));
			await destination.put(accented.file, `${root}/odd names/appserver ação.ini`);
			expect((await destination.readSmallFile(`${root}/odd names/appserver ação.ini`))?.toString('utf8')).toBe(
				'configuração do appserver\n',
			);
			const names = (await destination.list(`${root}/odd names`)).map((entry) => entry.name).sort();
			expect(names).toEqual(['appserver ação.ini', 'vazio.bin']);
		});

		check('remove deletes one file; removeFolder deletes a whole set folder', async ({ destination }) => {
			const { file } = localFile(1000);
			await destination.put(file, `${root}/doomed/set-1/a.bin`);
			await destination.put(file, `${root}/doomed/set-1/sub/b.bin`);
			await destination.put(file, `${root}/doomed/set-2/c.bin`);
			await destination.remove(`${root}/doomed/set-2/c.bin`);
			expect(await destination.stat(`${root}/doomed/set-2/c.bin`)).toBeNull();
			await destination.removeFolder(`${root}/doomed/set-1`);
			expect(await destination.list(`${root}/doomed/set-1`)).toEqual([]);
			expect((await destination.list(`${root}/doomed`)).map((entry) => entry.name)).toEqual(['set-2']);
		});

		check('createExclusive creates once, then refuses; the first content stays', async ({ destination }) => {
			const lock = `${root}/locks/prod/.lock.json`;
			expect(await destination.createExclusive(lock, '{"owner":"first"}')).toBe(true);
			expect(await destination.createExclusive(lock, '{"owner":"second"}')).toBe(false);
			expect((await destination.readSmallFile(lock))?.toString()).toBe('{"owner":"first"}');
			await destination.remove(lock);
			expect(await destination.createExclusive(lock, '{"owner":"third"}')).toBe(true);
			expect((await destination.readSmallFile(lock))?.toString()).toBe('{"owner":"third"}');
			await expect(destination.readSmallFile(lock, 5)).rejects.toThrow(/more than the 5 expected/);
		});

		const raceTitle = 'createExclusive racing from independent connections: exactly one wins';
		if (!atomicCreate) {
			it.skip(`skipped: ${raceTitle}: the protocol has no atomic create (check-then-rename + read-back; see ExclusiveCreateGuarantee)`, () =>
				undefined);
		} else {
			check(raceTitle, async ({ destination, another }) => {
				expect(another).toBeDefined();
				const contenders = Array.from({ length: 5 }, () => another!());
				try {
					const lock = `${root}/race/.lock.json`;
					const results = await Promise.all(
						contenders.map((contender, index) => contender.createExclusive(lock, `owner-${index}`)),
					);
					expect(results.filter(Boolean)).toHaveLength(1);
					const winner = results.indexOf(true);
					expect((await destination.readSmallFile(lock))?.toString()).toBe(`owner-${winner}`);
				} finally {
					await Promise.all(contenders.map((contender) => contender.close()));
				}
			});
		}

		check('paths that escape the root are refused', async ({ destination }) => {
			const { file } = localFile(10);
			await expect(destination.put(file, '../outside.bin')).rejects.toThrow(/Invalid remote path/);
			await expect(destination.stat('a/../../b')).rejects.toThrow(/Invalid remote path/);
		});

		check(
			'put with readBack proves the copy by reading it back (or by the remote hash)',
			async ({ destination, expectedVerification }) => {
				const { file, data } = localFile(300_000);
				const result = await destination.put(file, `${root}/readback/file.bin`, {
					readBack: true,
					expectedSha256: sha256(data),
				});
				expect(result.verifiedBy).toBe(expectedVerification === 'size' ? 'read-back' : expectedVerification);
			},
		);

		check(
			'put refuses a local file whose hash is not the expected one, and leaves nothing',
			async ({ destination }) => {
				const { file } = localFile(2000);
				await expect(
					destination.put(file, `${root}/expected/file.bin`, { expectedSha256: '0'.repeat(64) }),
				).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
				expect(await destination.stat(`${root}/expected/file.bin`)).toBeNull();
			},
		);

		check('close() is idempotent and the destination reconnects on the next call', async ({ destination }) => {
			await destination.close();
			await destination.close();
			expect(await destination.list(`${root}/nope`)).toEqual([]);
		});
	});
}
