import { lchown } from 'node:fs/promises';
import type { FileEntry } from '../../../backup-set/files-manifest';
import { systemErrorCode } from '../../../errors';
import { lookUpAccounts } from '../../../system-accounts';

/** The owner an archive entry (or an index entry) records; null where it records none. */
export interface RecordedOwner {
	uid: number | null;
	gid: number | null;
	uname: string | null;
	gname: string | null;
}

/** The part of a tar-stream header that carries the owner. */
export interface OwnerHeader {
	uid?: number;
	gid?: number;
	uname?: string;
	gname?: string;
	pax?: Record<string, string> | null;
}

/**
 * Ids that do not fit the 6 octal digits of the uid/gid fields are written as all sevens
 * (tar-stream's and our writer's behaviour): that number is not the owner, so it counts as
 * not recorded (a pax `uid`/`gid` record, when present, carries the real one).
 */
const OVERFLOWED_ID = 0o777777;

const id = (pax: string | undefined, field: number | undefined): number | null => {
	if (pax !== undefined && /^\d+$/.test(pax)) return Number(pax);
	return typeof field === 'number' && Number.isInteger(field) && field >= 0 && field !== OVERFLOWED_ID ? field : null;
};
const name = (pax: string | undefined, field: string | undefined): string | null => (pax ?? field) || null;

/** The owner a tar header records: pax records first (GNU tar writes them for long names and large ids), then ustar fields. */
export function ownerOfHeader(header: OwnerHeader): RecordedOwner {
	const pax = header.pax ?? {};
	return {
		uid: id(pax.uid, header.uid),
		gid: id(pax.gid, header.gid),
		uname: name(pax.uname, header.uname),
		gname: name(pax.gname, header.gname),
	};
}

/** The owner an index entry records, when its manifest has owner fields (`uid`, `gid`, `uname`, `gname`); undefined otherwise. */
export function ownerOfIndexEntry(entry: object): RecordedOwner | undefined {
	const e = entry as Partial<Record<'uid' | 'gid', unknown>> & Partial<Record<'uname' | 'gname', unknown>>;
	if (typeof e.uid !== 'number' && typeof e.gid !== 'number') return undefined;
	const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);
	const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
	return { uid: num(e.uid), gid: num(e.gid), uname: str(e.uname), gname: str(e.gname) };
}

/** Each path's owner as its newest archive entry records it; one shared object per distinct owner (a tree of 100,000 files has a handful). */
export class RecordedOwners {
	private readonly byPath = new Map<string, RecordedOwner>();
	private readonly shared = new Map<string, RecordedOwner>();

	record(path: string, owner: RecordedOwner): void {
		const key = `${owner.uid}:${owner.gid}:${owner.uname ?? ''}:${owner.gname ?? ''}`;
		let one = this.shared.get(key);
		if (!one) this.shared.set(key, (one = owner));
		this.byPath.set(path, one);
	}

	get(path: string): RecordedOwner | undefined {
		return this.byPath.get(path);
	}
}

/** Names worth asking the system about: no option look-alikes, separators or control characters. */
const lookupName = /^[^\s:,\-\\/\0][^\s:,\0]{0,255}$/;

/**
 * Turns recorded owners into the ids to set on this machine, the way GNU tar does as root:
 * the user and group names looked up here (the same `totvs` user may have another uid on the
 * restoring machine), the recorded numeric id where the name is absent or unknown here;
 * with `numeric`, the recorded ids only (tar --numeric-owner).
 */
export class OwnerResolver {
	readonly unknownUsers = new Set<string>();
	readonly unknownGroups = new Set<string>();
	private users = new Map<string, number>();
	private groups = new Map<string, number>();

	constructor(private readonly numeric: boolean) {}

	/** Looks up every name in `owners` once (getent: local files, LDAP, SSSD; /etc/passwd and /etc/group where getent is missing). */
	async load(owners: Iterable<RecordedOwner>): Promise<void> {
		if (this.numeric) return;
		const userNames = new Set<string>();
		const groupNames = new Set<string>();
		for (const owner of owners) {
			if (owner.uname) userNames.add(owner.uname);
			if (owner.gname) groupNames.add(owner.gname);
		}
		this.users = await lookUp('passwd', [...userNames]);
		this.groups = await lookUp('group', [...groupNames]);
		for (const user of userNames) if (!this.users.has(user)) this.unknownUsers.add(user);
		for (const group of groupNames) if (!this.groups.has(group)) this.unknownGroups.add(group);
	}

	/** uid and gid to set (-1: leave as is), or null when the owner records neither. */
	resolve(owner: RecordedOwner): { uid: number; gid: number } | null {
		const uid = (!this.numeric && owner.uname ? this.users.get(owner.uname) : undefined) ?? owner.uid;
		const gid = (!this.numeric && owner.gname ? this.groups.get(owner.gname) : undefined) ?? owner.gid;
		if (uid === null && gid === null) return null;
		return { uid: uid ?? -1, gid: gid ?? -1 };
	}
}

/** name -> id for the names the system database knows. */
async function lookUp(database: 'passwd' | 'group', names: string[]): Promise<Map<string, number>> {
	const found = new Map<string, number>();
	const wanted = new Set(names.filter((n) => lookupName.test(n)));
	for (const account of await lookUpAccounts(database, [...wanted]))
		if (wanted.has(account.name) && !found.has(account.name)) found.set(account.name, account.id);
	return found;
}

export interface OwnersOutcome {
	/** Why owners were not restored, or not all of them; null when they all were. */
	note: string | null;
	/** 'names': user and group names looked up on this machine, the recorded id where a name is absent or unknown; 'numeric': recorded ids only. */
	mapping: 'names' | 'numeric';
	/** Recorded user and group names this machine does not know: their recorded numeric ids were used. */
	unknownUsers: string[];
	unknownGroups: string[];
	/** Entries whose owner could not be set (the first 20), and how many in all. */
	failed: Array<{ path: string; reason: string }>;
	failedCount: number;
}

const MAX_LISTED_FAILURES = 20;
const entryCount = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

/** Why this process cannot give files to their recorded owners, or undefined when it can (root). */
export function whyOwnersCannotBeSet(): string | undefined {
	if (typeof process.geteuid !== 'function')
		return `Owners are not restored on ${process.platform}: it has no Unix owners (files belong to the user that runs n8n)`;
	const euid = process.geteuid();
	if (euid === 0) return undefined;
	return (
		`Owners not restored: only root can give files to other users and this restore runs as uid ${euid} (as tar -x does for a normal user), so every entry belongs to that user. ` +
		"Run the restore as root, or give the tree to the AppServer's user afterwards (e.g. chown -R totvs:totvs on the restored folders)."
	);
}

/** Sets each entry's recorded owner (names looked up here, or numeric), collecting failures instead of stopping: the content is already good. */
export class OwnerSetter {
	readonly failed: Array<{ path: string; reason: string }> = [];
	failedCount = 0;
	unrecorded = 0;

	constructor(
		readonly resolver: OwnerResolver,
		private readonly ownerOf: (entry: FileEntry) => RecordedOwner | undefined,
	) {}

	async load(entries: FileEntry[]): Promise<void> {
		await this.resolver.load(entries.map(this.ownerOf).filter((o) => o !== undefined));
	}

	/** lchown: a link itself, never what it points at. */
	async apply(path: string, entry: FileEntry): Promise<void> {
		const recorded = this.ownerOf(entry);
		const ids = recorded && this.resolver.resolve(recorded);
		if (!ids) {
			this.unrecorded++;
			return;
		}
		try {
			await lchown(path, ids.uid, ids.gid);
		} catch (error) {
			this.failedCount++;
			if (this.failed.length < MAX_LISTED_FAILURES)
				this.failed.push({
					path: entry.path,
					reason: `cannot set owner ${ids.uid}:${ids.gid} (${systemErrorCode(error) ?? (error as Error).message})`,
				});
		}
	}
}

export function ownersOutcome(
	owners: OwnerSetter | undefined,
	cannot: string | undefined,
	numeric: boolean,
): OwnersOutcome {
	const problems: string[] = [];
	if (cannot) problems.push(cannot);
	if (owners?.failedCount)
		problems.push(
			`Owners of ${entryCount(owners.failedCount)} could not be set (first: ${owners.failed[0].path}: ${owners.failed[0].reason}); ` +
				'the folder may be on a share that maps root to nobody (NFS root_squash) or on a filesystem without Unix owners: restore onto a local Linux filesystem, or chown afterwards.',
		);
	if (owners?.unrecorded)
		problems.push(
			`Owners of ${entryCount(owners.unrecorded)} are not recorded in the sets (ids too large for the tar header, and no user or group name): they belong to the restoring user.`,
		);
	return {
		note: problems.length ? problems.join(' ') : null,
		mapping: numeric ? 'numeric' : 'names',
		unknownUsers: [...(owners?.resolver.unknownUsers ?? [])].sort(),
		unknownGroups: [...(owners?.resolver.unknownGroups ?? [])].sort(),
		failed: owners?.failed ?? [],
		failedCount: owners?.failedCount ?? 0,
	};
}
