/**
 * Users and groups of this machine, for file owners: a backup records the names of the owners'
 * ids (as `tar -c` does) and a restore maps names back to this machine's ids (as `tar -x` as
 * root does). One lookup serves both directions.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface Account {
	name: string;
	id: number;
}

/**
 * The entries of `passwd` or `group` for the given keys (names or numeric ids), from the system
 * database (getent: local files, LDAP, SSSD), or from /etc/passwd or /etc/group where getent is
 * missing or the directory service does not answer. Keys nobody has are simply absent.
 */
export async function lookUpAccounts(database: 'passwd' | 'group', keys: Array<string | number>): Promise<Account[]> {
	const wanted = new Set(keys.map(String));
	if (!wanted.size || process.platform === 'win32') return [];
	const found: Account[] = [];
	const take = (text: string) => {
		for (const line of text.split('\n')) {
			const [name, , id] = line.split(':');
			if (name && /^\d+$/.test(id ?? '') && (wanted.has(name) || wanted.has(id))) found.push({ name, id: Number(id) });
		}
	};
	const list = [...wanted];
	try {
		for (let i = 0; i < list.length; i += 200) take(await getent(database, list.slice(i, i + 200)));
	} catch {
		take(await readFile(`/etc/${database}`, 'utf8').catch(() => ''));
	}
	return found;
}

/** `getent <database> <keys…>`: prints the entries found; exit status 2 only means some were not. */
function getent(database: string, keys: string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile('getent', [database, ...keys], { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout) => {
			if (!error || (error as { code?: unknown }).code === 2) resolve(stdout);
			else reject(error);
		});
	});
}
