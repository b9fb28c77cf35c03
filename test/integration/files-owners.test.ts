/**
 * Owners and groups of a Protheus file tree through a chain restore, as a TOTVS sysadmin
 * restoring as root needs them (AppServer runs as its own user and must be able to write its
 * dictionaries and logs): files, folders and links owned by several real users, a full and
 * incrementals changing owners, each point restored and compared owner by owner (numeric ids
 * and names). Then names against ids (a name known here wins over the recorded id, an unknown
 * name falls back to it, numericOwner ignores names) and a restore by an unprivileged user,
 * which restores the content and says owners were not restored.
 */
import { execFile, execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import {
	appendFile,
	chmod,
	chown,
	lchown,
	lstat,
	mkdir,
	readFile,
	readdir,
	rm,
	symlink,
	unlink,
	writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import type { BackupResult } from '../../core/backup';
import { manifestOf, type FileEntry } from '../../core/backup-set/manifest';
import { restoreFilesChain, type FilesRestoreResult } from '../../core/sources/protheus-files/restore/chain-restore';
import { readSetArchive, replaceArchive } from '../fixtures/files-archive';
import { age, filesBackup, snapshotTree, type TreeNode } from '../../support/fixtures/protheus-tree';

const isRoot = process.geteuid?.() === 0;
/** Tests that chown need root (CI runs as root); elsewhere they say why they did not run. */
const asRoot = (name: string, fn: () => Promise<void>, unavailable?: string) =>
	!isRoot
		? it.skip(`skipped: not root (only root can give files to other users): ${name}`, fn)
		: missingAccounts.length
			? it.skip(`skipped: this machine has no ${missingAccounts.join(', ')} account: ${name}`, fn)
			: unavailable
				? it.skip(`skipped: ${unavailable}: ${name}`, fn)
				: it(name, fn);

const works = (command: string, args: string[]) => {
	try {
		execFileSync(command, args, { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
};
/** Rootless containers: root inside a user namespace that maps no other id. */
const userNamespaces = isRoot && works('unshare', ['--user', '--map-root-user', 'true']);

interface Account {
	name: string;
	id: number;
}

/** name -> id from the system database, as the restore looks them up. */
function getent(database: 'passwd' | 'group', names: string[]): Map<string, number> {
	let text = '';
	try {
		text = execFileSync('getent', [database, ...names], { encoding: 'utf8' });
	} catch (error) {
		text = String((error as { stdout?: string }).stdout ?? ''); // exit 2: some not found
	}
	return new Map(
		text
			.split('\n')
			.filter(Boolean)
			.map((line) => [line.split(':')[0], Number(line.split(':')[2])]),
	);
}

const users = getent('passwd', ['daemon', 'www-data', 'nobody']);
const groups = getent('group', ['daemon', 'www-data', 'nogroup']);
const account = (map: Map<string, number>, name: string): Account => ({ name, id: map.get(name) ?? -1 });
const DAEMON = { user: account(users, 'daemon'), group: account(groups, 'daemon') };
const WWW = { user: account(users, 'www-data'), group: account(groups, 'www-data') };
const NOBODY = { user: account(users, 'nobody'), group: account(groups, 'nogroup') };
const missingAccounts = [DAEMON, WWW, NOBODY]
	.flatMap((o) => [o.user, o.group])
	.filter((a) => a.id < 0)
	.map((a) => a.name);

let work: string;
let data: string;
let staging: string;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-owners-'));
	await chmod(work, 0o755); // the unprivileged restore reads the sets from here
	data = join(work, 'src', 'protheus_data');
	staging = join(work, 'staging');
	await mkdir(staging);
	await mkdir(join(data, 'system'), { recursive: true });
	await mkdir(join(data, 'profile'));
	await mkdir(join(data, 'web'));
	await writeFile(join(data, 'system', 'sx2010.dtc'), Buffer.alloc(70_000, 3));
	await writeFile(join(data, 'system', 'sigapss.spf'), 'senhas\n', { mode: 0o600 });
	await writeFile(join(data, 'system', 'sigamat.emp'), 'empresas\n');
	await symlink('sigamat.emp', join(data, 'system', 'menu.xnu'));
	await writeFile(join(data, 'web', 'wsindex.apw'), 'web\n');
	await chmod(join(data, 'system'), 0o750);
	// setgid + group execute: chown after chmod would clear the bit, so this checks the order.
	await chmod(join(data, 'web', 'wsindex.apw'), 0o2750);
	if (!isRoot || missingAccounts.length) return;
	const give = (path: string, owner: { user: Account; group: Account }) =>
		chown(join(data, path), owner.user.id, owner.group.id);
	await give('.', DAEMON);
	await give('system', WWW);
	await chown(join(data, 'system', 'sx2010.dtc'), DAEMON.user.id, WWW.group.id);
	await give('system/sigapss.spf', WWW);
	await give('system/sigamat.emp', NOBODY);
	await lchown(join(data, 'system', 'menu.xnu'), DAEMON.user.id, DAEMON.group.id);
	await give('profile', NOBODY);
	await give('web/wsindex.apw', WWW);
	await chmod(join(data, 'web', 'wsindex.apw'), 0o2750);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const backup = (type: 'full' | 'incremental') =>
	filesBackup(staging, type, { folders: [data], protheusDefaults: false });

/** path (from the folder's parent) -> "uid:gid", links not followed. */
async function ownersOf(folder: string, label: string): Promise<Map<string, string>> {
	const out = new Map<string, string>();
	const walk = async (path: string, relative: string) => {
		const info = await lstat(path);
		out.set(relative, `${info.uid}:${info.gid}`);
		if (info.isDirectory())
			for (const name of (await readdir(path)).sort()) await walk(join(path, name), `${relative}/${name}`);
	};
	await walk(folder, label);
	return out;
}

const uidNames = new Map([...users].map(([name, id]) => [id, name]));
const gidNames = new Map([...groups].map(([name, id]) => [id, name]));
/** "uid:gid" -> "user:group" names on this machine. */
const names = (owner: string) => {
	const [uid, gid] = owner.split(':').map(Number);
	return `${uidNames.get(uid) ?? uid}:${gidNames.get(gid) ?? gid}`;
};

const contentOf = (tree: Map<string, TreeNode>, modeMask = 0o7777) =>
	[...tree].map(([path, n]) => ({
		path,
		type: n.type,
		size: n.size,
		sha256: n.sha256,
		target: n.target,
		mode: n.mode & modeMask,
		mtimeMs: n.type === 'symlink' ? 0 : n.mtimeMs,
	}));

describe('owners through a chain restore (as root)', () => {
	const points: Array<{ set: BackupResult; owners: Map<string, string>; content: Map<string, TreeNode> }> = [];

	const restoreAndCompare = async (index: number) => {
		const { set, owners, content } = points[index];
		const target = join(work, 'restore', `point-${index}`);
		const result = await restoreFilesChain({ setFolder: set.folder, target });
		expect(result.ownersRestored).toBe(true);
		expect(result.owners).toMatchObject({
			note: null,
			mapping: 'names',
			unknownUsers: [],
			unknownGroups: [],
			failed: [],
			failedCount: 0,
		});
		const restored = await ownersOf(join(target, 'protheus_data'), 'protheus_data');
		expect([...restored].map(([p, o]) => [p, o, names(o)])).toEqual([...owners].map(([p, o]) => [p, o, names(o)]));
		expect(contentOf(await snapshotTree(join(target, 'protheus_data')))).toEqual(contentOf(content));
		return result;
	};

	const point = async (set: BackupResult) => {
		points.push({ set, owners: await ownersOf(data, 'protheus_data'), content: await snapshotTree(data) });
	};

	asRoot(
		'restores the owners of every file, folder and link of a full (lchown for links, owner before mode)',
		async () => {
			await point(await backup('full'));
			const before = points[0].owners;
			expect(new Set(before.values()).size).toBeGreaterThanOrEqual(4); // really several owners, links included
			expect(names(before.get('protheus_data/system/menu.xnu')!)).toBe('daemon:daemon');
			expect(names(before.get('protheus_data/system')!)).toBe('www-data:www-data');
			await restoreAndCompare(0);
			const target = join(work, 'restore', 'point-0', 'protheus_data');
			expect((await lstat(join(target, 'web', 'wsindex.apw'))).mode & 0o7777).toBe(0o2750);
			// The link's target kept its own owner: lchown did not follow the link.
			expect(
				names(
					`${(await lstat(join(target, 'system', 'sigamat.emp'))).uid}:${(await lstat(join(target, 'system', 'sigamat.emp'))).gid}`,
				),
			).toBe('nobody:nogroup');
			// What the AppServer needs: its user can write its files in the restored tree (the restore folder is open to it).
			expect((await lstat(join(work, 'restore', 'point-0'))).mode & 0o777).toBe(0o755);
			const asWww = [
				'--reuid',
				String(WWW.user.id),
				'--regid',
				String(WWW.group.id),
				'--clear-groups',
				'--',
				'sh',
				'-c',
				'echo nova-senha >> "$1"',
				'sh',
				join(target, 'system', 'sigapss.spf'),
			];
			execFileSync('setpriv', asWww);
			expect(await readFile(join(target, 'system', 'sigapss.spf'), 'utf8')).toBe('senhas\nnova-senha\n');
		},
	);

	asRoot('restores owners changed by incrementals: folders, links, changed and new files', async () => {
		// Incremental 1: owner-only changes of a folder, a link and a file; a file edited and given away; a new folder.
		await chown(join(data, 'system'), DAEMON.user.id, WWW.group.id);
		await lchown(join(data, 'system', 'menu.xnu'), WWW.user.id, WWW.group.id);
		await chown(join(data, 'system', 'sigapss.spf'), DAEMON.user.id, DAEMON.group.id);
		await age(join(data, 'system', 'sx2010.dtc'));
		await appendFile(join(data, 'system', 'sx2010.dtc'), 'ALTERADO');
		await chown(join(data, 'system', 'sx2010.dtc'), NOBODY.user.id, NOBODY.group.id);
		await mkdir(join(data, 'data'));
		await writeFile(join(data, 'data', 'sa1010.dbf'), 'clientes\n');
		await chown(join(data, 'data'), WWW.user.id, WWW.group.id);
		await chown(join(data, 'data', 'sa1010.dbf'), WWW.user.id, DAEMON.group.id);
		const spf = join(data, 'system', 'sigapss.spf');
		const sizeAndMtime = async () => ((info) => [info.size, Math.floor(info.mtimeMs)])(await lstat(spf));
		const beforeChown = points[0].content.get('system/sigapss.spf')!;
		expect(await sizeAndMtime()).toEqual([beforeChown.size, beforeChown.mtimeMs]); // the chown alone: size and mtime as in the full
		const i1 = await backup('incremental');
		const inventory = manifestOf(i1.manifest, 'protheus-files').inventory;
		expect(inventory.changes.changed).toEqual(
			expect.arrayContaining([
				'protheus_data/system',
				'protheus_data/system/menu.xnu',
				'protheus_data/system/sigapss.spf',
				'protheus_data/system/sx2010.dtc',
			]),
		);
		// The owner-only change is carried by the incremental: its archive holds the file, with the new owner and names.
		expect(inventory.entries.find((e) => e.path === 'protheus_data/system/sigapss.spf')).toMatchObject({
			from: i1.manifest.backupId,
			uid: DAEMON.user.id,
			gid: DAEMON.group.id,
			uname: 'daemon',
			gname: 'daemon',
		});
		const archived = (await readSetArchive(i1.folder)).find(
			(e) => e.header.name === 'protheus_data/system/sigapss.spf',
		);
		expect(archived?.header).toMatchObject({
			uid: DAEMON.user.id,
			gid: DAEMON.group.id,
			uname: 'daemon',
			gname: 'daemon',
		});
		// Files nobody touched are not re-archived.
		expect(inventory.entries.find((e) => e.path === 'protheus_data/system/sigamat.emp')!.from).toBe(
			points[0].set.manifest.backupId,
		);
		await point(i1);
		await restoreAndCompare(1);

		// Incremental 2: a deletion, a folder given away, a new file in it.
		await unlink(join(data, 'system', 'sigamat.emp'));
		await chown(join(data, 'profile'), DAEMON.user.id, DAEMON.group.id);
		await writeFile(join(data, 'profile', 'admin.prf'), 'idioma=pt-BR\n');
		await chown(join(data, 'profile', 'admin.prf'), NOBODY.user.id, WWW.group.id);
		await point(await backup('incremental'));
		await restoreAndCompare(2);

		// Every point stays restorable with its own owners (not the newest ones).
		await rm(join(work, 'restore'), { recursive: true });
		for (let i = 0; i < points.length; i++) await restoreAndCompare(i);
	});
});

type HeaderOwner = Partial<Pick<tar.Header, 'uid' | 'gid' | 'uname' | 'gname' | 'pax'>>;

/** The index as sets made before it recorded owners have it: the restore takes owners from the archive headers. */
const withoutIndexOwners = (entries: FileEntry[]) =>
	entries.map((e) => {
		const older = { ...e };
		for (const field of ['uid', 'gid', 'uname', 'gname'] as const) delete older[field];
		return older;
	});

/**
 * Replaces the set's archive with the same entries carrying `owner(entry)`: ustar uid/gid and
 * uname/gname, or pax records (as GNU tar writes them); `indexEdit` changes the manifest's index
 * (by default it drops the index's owners, so the headers are what the restore reads).
 */
async function rewriteOwners(
	folder: string,
	owner: (path: string) => HeaderOwner,
	indexEdit: (entries: FileEntry[]) => FileEntry[] = withoutIndexOwners,
) {
	const entries = (await readSetArchive(folder)).map(({ header, content }) => ({
		header: { ...header, uname: '', gname: '', pax: null, ...owner(header.name) },
		content,
	}));
	await replaceArchive(folder, entries, indexEdit);
}

describe('user and group names against numeric ids', () => {
	let set: BackupResult;
	const UNKNOWN_UID = 48_213;
	const UNKNOWN_GID = 48_214;
	const MOVED_UID = 48_215; // the id "daemon" had on the machine the backup came from
	const MOVED_GID = 48_216;
	const recorded = (path: string) =>
		path.endsWith('sigapss.spf')
			? { uid: UNKNOWN_UID, gid: UNKNOWN_GID, uname: 'totvs-nao-existe', gname: 'totvs-grupo-nao-existe' }
			: { uid: MOVED_UID, gid: MOVED_GID, uname: 'daemon', gname: 'daemon' };

	beforeAll(async () => {
		if (!isRoot || missingAccounts.length) return;
		const own = mkdtempSync(join(work, 'names-staging-'));
		set = await filesBackup(own, 'full', { folders: [data], protheusDefaults: false });
		await rewriteOwners(set.folder, recorded);
	});

	asRoot(
		'prefers the name known here over the recorded id, and falls back to the id for a name this machine does not know',
		async () => {
			expect(getent('passwd', ['totvs-nao-existe']).size).toBe(0);
			const target = join(work, 'names-restore');
			const result = await restoreFilesChain({ setFolder: set.folder, target });
			expect(result.ownersRestored).toBe(true);
			expect(result.owners.mapping).toBe('names');
			expect(result.owners.unknownUsers).toEqual(['totvs-nao-existe']);
			expect(result.owners.unknownGroups).toEqual(['totvs-grupo-nao-existe']);
			const owners = await ownersOf(join(target, 'protheus_data'), 'protheus_data');
			for (const [path, owner] of owners) {
				if (path.endsWith('sigapss.spf')) expect([path, owner]).toEqual([path, `${UNKNOWN_UID}:${UNKNOWN_GID}`]);
				else expect([path, names(owner)]).toEqual([path, 'daemon:daemon']);
			}
		},
	);

	asRoot('with numericOwner, sets the recorded ids and ignores the names (tar --numeric-owner)', async () => {
		const target = join(work, 'numeric-restore');
		const result = await restoreFilesChain({ setFolder: set.folder, target, numericOwner: true });
		expect(result.ownersRestored).toBe(true);
		expect(result.owners).toMatchObject({ mapping: 'numeric', unknownUsers: [], unknownGroups: [] });
		const owners = await ownersOf(join(target, 'protheus_data'), 'protheus_data');
		expect(owners.size).toBeGreaterThan(5);
		for (const [path, owner] of owners) {
			const want = recorded(path);
			expect([path, owner]).toEqual([path, `${want.uid}:${want.gid}`]);
		}
	});
});

describe('ids the ustar fields cannot hold, and owners recorded in the index', () => {
	const BIG_UID = 1_863_201_104; // the kind of id SSSD gives an Active Directory user
	const BIG_GID = 1_863_200_513;
	const ALL_SEVENS = 0o777777; // what a 6-digit field holds when the id did not fit

	asRoot(
		'takes large ids from pax records, and leaves entries whose id did not fit and that have no name (saying so)',
		async () => {
			const own = mkdtempSync(join(work, 'big-ids-'));
			const set = await filesBackup(own, 'full', { folders: [data], protheusDefaults: false });
			await rewriteOwners(set.folder, (path) =>
				path.endsWith('sx2010.dtc')
					? { uid: ALL_SEVENS, gid: ALL_SEVENS, pax: { uid: String(BIG_UID), gid: String(BIG_GID) } }
					: path.endsWith('sigapss.spf')
						? { uid: ALL_SEVENS, gid: ALL_SEVENS }
						: { uid: DAEMON.user.id, gid: DAEMON.group.id },
			);
			const target = join(work, 'big-ids-restore');
			const result = await restoreFilesChain({ setFolder: set.folder, target });
			expect(result.ownersRestored).toBe(false);
			expect(result.owners.note).toContain('Owners of 1 entry are not recorded');
			expect(result.owners.failedCount).toBe(0);
			const owners = await ownersOf(join(target, 'protheus_data'), 'protheus_data');
			expect(owners.get('protheus_data/system/sx2010.dtc')).toBe(`${BIG_UID}:${BIG_GID}`);
			expect(owners.get('protheus_data/system/sigapss.spf')).toBe(`${process.geteuid!()}:${process.getegid!()}`);
			expect(owners.get('protheus_data/web/wsindex.apw')).toBe(`${DAEMON.user.id}:${DAEMON.group.id}`);
		},
	);

	asRoot('prefers owners recorded in the index (the whole tree at that point) over the archive headers', async () => {
		const own = mkdtempSync(join(work, 'index-owners-'));
		const set = await filesBackup(own, 'full', { folders: [data], protheusDefaults: false });
		await rewriteOwners(
			set.folder,
			() => ({ uid: NOBODY.user.id, gid: NOBODY.group.id, uname: 'nobody', gname: 'nogroup' }),
			(entries) =>
				entries.map((e) => ({
					...e,
					...(e.path.endsWith('wsindex.apw')
						? { uid: 4_000, gid: 4_001, uname: 'www-data', gname: 'www-data' }
						: { uid: DAEMON.user.id, gid: DAEMON.group.id, uname: null, gname: null }),
				})),
		);
		const target = join(work, 'index-owners-restore');
		const result = await restoreFilesChain({ setFolder: set.folder, target });
		expect(result.ownersRestored).toBe(true);
		const owners = await ownersOf(join(target, 'protheus_data'), 'protheus_data');
		expect(owners.size).toBeGreaterThan(5);
		for (const [path, owner] of owners)
			expect([path, names(owner)]).toEqual([
				path,
				path.endsWith('wsindex.apw') ? 'www-data:www-data' : 'daemon:daemon',
			]);
	});
});

/**
 * Runs restoreFilesChain in a child process started through `wrapper` (setpriv, unshare…), returning its result.
 * The child is bundled (esbuild) into `home`, so the unprivileged user needs nothing from the checkout: a clone
 * under a folder only root may enter (CI clones into one) works the same as any other.
 */
async function restoreInChild(
	wrapper: string[],
	setFolder: string,
	target: string,
	home: string,
): Promise<FilesRestoreResult> {
	const entry = join(home, 'restore-child.ts');
	const bundle = join(home, 'restore-child.js');
	await writeFile(
		entry,
		`import { restoreFilesChain } from ${JSON.stringify(join(__dirname, '../../core/sources/protheus-files/restore/chain-restore'))};\n` +
			'restoreFilesChain({ setFolder: process.argv[2], target: process.argv[3] }).then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });\n',
	);
	await build({
		entryPoints: [entry],
		bundle: true,
		platform: 'node',
		format: 'cjs',
		outfile: bundle,
		logLevel: 'error',
	});
	await chmod(bundle, 0o644);
	const stdout = await new Promise<string>((resolve, reject) =>
		execFile(
			wrapper[0],
			[...wrapper.slice(1), process.execPath, bundle, setFolder, target],
			{ cwd: home, env: { ...process.env, HOME: home } },
			(error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
		),
	);
	return JSON.parse(stdout) as FilesRestoreResult;
}

describe('owners in the index, and sets made before it recorded them', () => {
	it("records every entry's uid, gid and names as on disk; an incremental on an older set re-archives nothing for owners", async () => {
		const own = mkdtempSync(join(work, 'index-'));
		const full = await filesBackup(own, 'full', { folders: [data], protheusDefaults: false });
		const entries = manifestOf(full.manifest, 'protheus-files').inventory.entries;
		expect(entries.length).toBeGreaterThan(5);
		for (const e of entries) {
			const info = await lstat(join(data, '..', e.path));
			const uname = getent('passwd', [String(info.uid)]);
			const gname = getent('group', [String(info.gid)]);
			expect({ path: e.path, uid: e.uid, gid: e.gid, uname: e.uname, gname: e.gname }).toEqual({
				path: e.path,
				uid: info.uid,
				gid: info.gid,
				uname: [...uname.keys()][0], // undefined when this machine has no name for the id
				gname: [...gname.keys()][0],
			});
		}
		// A parent written before the index had owners: owners are not compared, nothing is re-archived for them.
		await replaceArchive(full.folder, await readSetArchive(full.folder), withoutIndexOwners);
		const incremental = await filesBackup(own, 'incremental', { folders: [data], protheusDefaults: false });
		const inventory = manifestOf(incremental.manifest, 'protheus-files').inventory;
		expect(inventory.changes).toEqual({ added: [], changed: [], deleted: [] });
		expect(inventory.totals.archivedFiles).toBe(0);
		expect(inventory.entries.map((e) => [e.path, e.uid, e.gid])).toEqual(entries.map((e) => [e.path, e.uid, e.gid])); // recorded from now on
	});
});

describe('restores that cannot set owners: content restored, owners reported', () => {
	// Known at collection time: a test that cannot run here is skipped with its reason, never passed.
	const cannotDrop =
		isRoot && (missingAccounts.length || !works('setpriv', ['--version']))
			? `cannot drop to another user here (no setpriv, or no ${missingAccounts.join(', ')} account)`
			: undefined;
	(cannotDrop ? it.skip : it)(
		`${cannotDrop ? `skipped: ${cannotDrop}: ` : ''}by a user that is not root: every entry belongs to that user and the result says owners were not restored`,
		async () => {
			const own = join(work, 'unprivileged');
			await mkdir(own, { recursive: true });
			const set = await filesBackup(own, 'full', { folders: [data], protheusDefaults: false });
			const target = join(own, 'restored');
			let result: FilesRestoreResult;
			let runner: { uid: number; gid: number };
			if (isRoot) {
				// As root, run the restore in a child process that dropped to nobody (setpriv), as n8n usually runs.
				runner = { uid: NOBODY.user.id, gid: NOBODY.group.id };
				execFileSync('chown', ['-R', `${runner.uid}:${runner.gid}`, own]);
				result = await restoreInChild(
					['setpriv', `--reuid=${runner.uid}`, `--regid=${runner.gid}`, '--clear-groups', '--'],
					set.folder,
					target,
					own,
				);
			} else {
				runner = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
				result = await restoreFilesChain({ setFolder: set.folder, target });
			}
			expect(result.ownersRestored).toBe(false);
			expect(result.owners.note).toContain(`this restore runs as uid ${runner.uid}`);
			expect(result.owners.note).toContain('chown -R');
			expect(result.owners.failedCount).toBe(0);
			const owners = await ownersOf(join(target, 'protheus_data'), 'protheus_data');
			expect(owners.size).toBe(manifestOf(set.manifest, 'protheus-files').inventory.entries.length);
			for (const [path, owner] of owners) expect([path, owner]).toEqual([path, `${runner.uid}:${runner.gid}`]);
			// Content, modes (setgid may be dropped: the user is not in the recorded group, as with tar) and mtimes as backed up.
			expect(contentOf(await snapshotTree(join(target, 'protheus_data')), 0o777)).toEqual(
				contentOf(await snapshotTree(data), 0o777),
			);
		},
	);

	asRoot(
		'as root of a user namespace that maps only root (rootless containers): chown fails, the restore completes and lists the failures',
		async () => {
			const own = join(work, 'userns');
			await mkdir(own, { recursive: true });
			const set = await filesBackup(own, 'full', { folders: [data], protheusDefaults: false });
			const target = join(own, 'restored');
			const result = await restoreInChild(['unshare', '--user', '--map-root-user', '--'], set.folder, target, own);
			const recorded = await ownersOf(data, 'protheus_data');
			const notRoot = [...recorded.values()].filter((o) => o !== '0:0').length;
			expect(notRoot).toBeGreaterThan(3);
			expect(result.ownersRestored).toBe(false);
			expect(result.owners.failedCount).toBe(notRoot);
			expect(result.owners.failed[0].reason).toContain('EINVAL');
			expect(result.owners.note).toContain(`Owners of ${notRoot} entries could not be set`);
			// Content as backed up; the entries stay with the restoring (mapped) root.
			expect(contentOf(await snapshotTree(join(target, 'protheus_data')), 0o777)).toEqual(
				contentOf(await snapshotTree(data), 0o777),
			);
			for (const [path, owner] of await ownersOf(join(target, 'protheus_data'), 'protheus_data'))
				expect([path, owner]).toEqual([path, '0:0']);
		},
		userNamespaces ? undefined : 'user namespaces are not available here (unshare --user --map-root-user failed)',
	);
});
