/**
 * core/secret-folders.ts (issue 17): private temporary folders for secrets, and the sweep that
 * removes those a killed worker left, and nothing else. Each case works in a folder of its own
 * standing in for os.tmpdir(), except the once-every-few-minutes case (which sweeps the real one).
 */
import { spawn } from 'node:child_process';
import {
	chownSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	readdirSync,
	rmSync,
	statSync,
	symlinkSync,
	utimesSync,
	writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	SWEEP_INTERVAL_MS,
	UNOWNED_MAX_AGE_MS,
	createSecretFolder,
	sweepStaleSecretFolders,
	sweepStaleSecretFoldersOccasionally,
} from '../../core/secret-folders';

let tmp: string;
let dead: number;

beforeAll(async () => {
	dead = await new Promise<number>((resolve) => {
		const child = spawn('true');
		child.once('exit', () => resolve(child.pid!));
	});
});
beforeEach(() => {
	tmp = mkdtempSync(join(tmpdir(), 'secret-folders-test-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A folder `name` in tmp with these files (an `owner` record among them, or not), aged ageMs. */
function plant(name: string, files: Record<string, string>, ageMs = 0): string {
	const folder = join(tmp, name);
	mkdirSync(folder, { mode: 0o700 });
	for (const [file, text] of Object.entries(files)) writeFileSync(join(folder, file), text, { mode: 0o600 });
	const then = new Date(Date.now() - ageMs);
	utimesSync(folder, then, then);
	return folder;
}

const owner = (pid: number, host = hostname(), start = '') => `${pid} ${host} ${start}\n`;
const remaining = () => readdirSync(tmp).sort();

describe('createSecretFolder', () => {
	it('makes a 0700 folder of our prefix whose owner record (pid, host, start time) is already there', async () => {
		const folder = await createSecretFolder('totvs-pg-', tmp);
		expect(folder.startsWith(join(tmp, 'totvs-pg-'))).toBe(true);
		expect(statSync(folder).mode & 0o777).toBe(0o700);
		expect(readdirSync(folder)).toEqual(['owner']);
		expect(statSync(join(folder, 'owner')).mode & 0o777).toBe(0o600);
		expect(readFileSync(join(folder, 'owner'), 'utf8')).toMatch(
			new RegExp(`^${process.pid} ${hostname().replace(/[.]/g, '\\.')} \\d*\\n$`),
		);
	});

	it('its folder is kept by a sweep while this process runs, removed once the record names a dead process', async () => {
		const folder = await createSecretFolder('totvs-sftp-', tmp);
		writeFileSync(join(folder, 'id'), 'key', { mode: 0o600 });
		expect(await sweepStaleSecretFolders(tmp)).toEqual([]);
		expect(existsSync(join(folder, 'id'))).toBe(true);
		writeFileSync(join(folder, 'owner'), owner(dead));
		expect(await sweepStaleSecretFolders(tmp)).toEqual([folder]);
		expect(existsSync(folder)).toBe(false);
	});
});

describe('sweepStaleSecretFolders', () => {
	it('removes folders of a dead owner on this host, or of a reused pid; keeps live owners and other hosts', async () => {
		const [start] = [readFileSync(`/proc/${process.pid}/stat`, 'utf8')].map(
			(s) => s.slice(s.lastIndexOf(')') + 2).split(' ')[19],
		);
		plant('totvs-pg-dead', { owner: owner(dead), pgpass: 'x' });
		plant('totvs-sftp-dead', { owner: owner(dead), id: 'k', known_hosts: 'h', askpass: 'a' });
		// Our pid, but another start time: the process that wrote it is gone, the pid was reused.
		plant('totvs-pg-reused', { owner: owner(process.pid, hostname(), `${Number(start) + 1}`), pgpass: 'x' });
		plant('totvs-pg-live', { owner: owner(process.pid, hostname(), start), pgpass: 'x' }, 2 * UNOWNED_MAX_AGE_MS);
		plant('totvs-pg-live-no-start', { owner: owner(process.pid), pgpass: 'x' });
		// A pid on another host means nothing here: kept, however old.
		plant('totvs-sftp-elsewhere', { owner: owner(dead, `not-${hostname()}`), id: 'k' }, 2 * UNOWNED_MAX_AGE_MS);
		const removed = await sweepStaleSecretFolders(tmp);
		expect(removed.sort()).toEqual(['totvs-pg-dead', 'totvs-pg-reused', 'totvs-sftp-dead'].map((n) => join(tmp, n)));
		expect(remaining()).toEqual(['totvs-pg-live', 'totvs-pg-live-no-start', 'totvs-sftp-elsewhere']);
	});

	it('without an owner record: removes an old folder holding only what ours held; keeps a fresh one and anyone else’s', async () => {
		const old = 2 * UNOWNED_MAX_AGE_MS;
		plant('totvs-pg-legacy', { pgpass: 'x', 'root.crt': 'c' }, old);
		plant('totvs-sftp-legacy', { id: 'k', known_hosts: 'h' }, old);
		plant('totvs-sftp-empty', {}, old);
		plant('totvs-pg-garbled', { owner: 'not a record', pgpass: 'x' }, old);
		plant('totvs-pg-fresh', { pgpass: 'x' });
		// A test PostgreSQL's data folder is `totvs-pg-…` too: not ours, whatever its age.
		plant('totvs-pg-server', { PG_VERSION: '16', 'postmaster.pid': '1' }, old);
		plant('totvs-sftp-openssh-scratch', { 'database.dump': 'x' }, old);
		const removed = await sweepStaleSecretFolders(tmp);
		expect(removed.sort()).toEqual(
			['totvs-pg-garbled', 'totvs-pg-legacy', 'totvs-sftp-empty', 'totvs-sftp-legacy'].map((n) => join(tmp, n)),
		);
		expect(remaining()).toEqual(['totvs-pg-fresh', 'totvs-pg-server', 'totvs-sftp-openssh-scratch']);
	});

	it('touches only our prefixes', async () => {
		plant('totvs-lock-x', { owner: owner(dead) }, 2 * UNOWNED_MAX_AGE_MS);
		plant('totvs-pgrestore-x', { owner: owner(dead) });
		plant('other-pg-x', { owner: owner(dead), pgpass: 'x' });
		expect(await sweepStaleSecretFolders(tmp)).toEqual([]);
		expect(remaining()).toEqual(['other-pg-x', 'totvs-lock-x', 'totvs-pgrestore-x']);
	});

	it('never follows a symbolic link: not the folder, not the owner record, not what is inside', async () => {
		const outside = mkdtempSync(join(tmpdir(), 'secret-folders-outside-'));
		try {
			writeFileSync(join(outside, 'owner'), owner(dead));
			writeFileSync(join(outside, 'precious'), 'keep me');
			// A link with our prefix to a folder that looks stale: neither the link nor its target goes.
			symlinkSync(outside, join(tmp, 'totvs-pg-link'));
			// An owner "record" that is a link to a dead owner's record: not read, so the fresh folder stays.
			const linkedRecord = plant('totvs-pg-linked-owner', { pgpass: 'x' });
			symlinkSync(join(outside, 'owner'), join(linkedRecord, 'owner'));
			// A stale folder with a link inside: the link goes with it, never its target.
			const stale = plant('totvs-sftp-stale', { owner: owner(dead) });
			symlinkSync(join(outside, 'precious'), join(stale, 'id'));
			expect(await sweepStaleSecretFolders(tmp)).toEqual([stale]);
			expect(remaining()).toEqual(['totvs-pg-link', 'totvs-pg-linked-owner']);
			expect(readdirSync(outside).sort()).toEqual(['owner', 'precious']);
			expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('keep me');
		} finally {
			rmSync(outside, { recursive: true, force: true });
		}
	});

	// Only root can give a folder to another user; without it there is nothing to test.
	(process.getuid?.() === 0 ? it : it.skip)('skips folders of another user (needs root to make one)', async () => {
		const folder = plant('totvs-pg-nobody', { owner: owner(dead), pgpass: 'x' });
		chownSync(folder, 65534, 65534);
		expect(await sweepStaleSecretFolders(tmp)).toEqual([]);
		expect(remaining()).toEqual(['totvs-pg-nobody']);
	});

	it('at a node start, sweeps the temporary folder at most once every few minutes', async () => {
		const now = Date.now();
		await sweepStaleSecretFoldersOccasionally(now);
		const folder = mkdtempSync(join(tmpdir(), 'totvs-pg-'));
		try {
			writeFileSync(join(folder, 'owner'), owner(dead));
			expect(await sweepStaleSecretFoldersOccasionally(now + 1000)).toEqual([]);
			expect(existsSync(folder)).toBe(true);
			expect(await sweepStaleSecretFoldersOccasionally(now + SWEEP_INTERVAL_MS)).toContain(folder);
			expect(existsSync(folder)).toBe(false);
		} finally {
			rmSync(folder, { recursive: true, force: true });
		}
	});
});
