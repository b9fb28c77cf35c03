import { lookUpAccounts } from '../../system-accounts';

/** The owner fields of a walked entry that names are looked up for. */
interface Owned {
	uid: number;
	gid: number;
	uname?: string;
	gname?: string;
}

/**
 * Gives each entry the user and group names of its uid and gid on this machine, as `tar -c`
 * records them, so a restore on another machine can map `totvs` to its own uid there.
 * Each distinct id is looked up once (a Protheus tree has a handful of owners); names this
 * machine does not know stay unset (the numeric id is still recorded).
 */
export async function nameOwners(entries: Owned[]): Promise<void> {
	if (process.platform === 'win32' || !entries.length) return; // no Unix owners there
	const users = await namesOf('passwd', new Set(entries.map((e) => e.uid)));
	const groups = await namesOf('group', new Set(entries.map((e) => e.gid)));
	for (const entry of entries) {
		const uname = users.get(entry.uid);
		const gname = groups.get(entry.gid);
		if (uname) entry.uname = uname;
		if (gname) entry.gname = gname;
	}
}

/** id -> name for the ids this machine knows. */
async function namesOf(database: 'passwd' | 'group', ids: Set<number>): Promise<Map<number, string>> {
	const found = new Map<number, string>();
	for (const account of await lookUpAccounts(database, [...ids]))
		if (ids.has(account.id) && !found.has(account.id)) found.set(account.id, account.name);
	return found;
}
