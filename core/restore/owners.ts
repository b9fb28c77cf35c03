import { lookUpAccounts } from '../system-accounts';

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
