import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { BackupError, systemErrorCode } from '../../errors';

/** The paths an AppServer environment uses, as read from appserver.ini. */
export interface IniEnvironment {
	name: string;
	rootPath?: string;
	sourcePath?: string;
	rpoCustom?: string;
	rpoTlpp?: string;
}

/** Sections of an ini file; keys lower-cased (AppServer reads them case-insensitively). */
export function parseIni(text: string): Map<string, Map<string, string>> {
	const sections = new Map<string, Map<string, string>>();
	let current: Map<string, string> | undefined;
	for (const raw of text.split(/\r?\n/)) {
		const line = raw.trim();
		if (!line || line.startsWith(';') || line.startsWith('#')) continue;
		const section = /^\[(.+)\]$/.exec(line);
		if (section) {
			const name = section[1].trim();
			current = sections.get(name.toLowerCase()) ?? new Map();
			sections.set(name.toLowerCase(), current);
			current.set('\0name', name);
			continue;
		}
		const eq = line.indexOf('=');
		if (eq > 0 && current) current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
	}
	return sections;
}

/** ini files written on Windows are usually Windows-1252, not UTF-8. */
function decode(bytes: Buffer): string {
	const utf8 = bytes.toString('utf8');
	return utf8.includes('\uFFFD') ? bytes.toString('latin1') : utf8;
}

/**
 * Reads an appserver.ini and returns its environments: sections with a SourcePath or
 * RootPath. Relative paths are resolved against the ini's folder, as AppServer does.
 */
export async function readAppserverIni(iniPath: string): Promise<IniEnvironment[]> {
	let text: string;
	try {
		text = decode(await readFile(iniPath));
	} catch (error) {
		throw new BackupError(
			'INVALID_INPUT',
			`Cannot read ${iniPath} (${systemErrorCode(error) ?? (error as Error).message})`,
			'Check "appserver.ini Path": the file must exist and be readable by the user that runs n8n.',
			{ cause: error },
		);
	}
	const base = dirname(iniPath);
	const path = (value: string | undefined) =>
		value ? (isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value) ? value : resolve(base, value)) : undefined;
	const environments: IniEnvironment[] = [];
	for (const keys of parseIni(text).values()) {
		if (!keys.has('sourcepath') && !keys.has('rootpath')) continue;
		environments.push({
			name: keys.get('\0name') ?? '',
			rootPath: path(keys.get('rootpath')),
			sourcePath: path(keys.get('sourcepath')),
			rpoCustom: path(keys.get('rpocustom')),
			rpoTlpp: path(keys.get('rpotlpp')),
		});
	}
	return environments;
}

/** The environments to back up: all of them, or those named (case-insensitive); unknown names fail. */
export function pickEnvironments(all: IniEnvironment[], wanted: string[], iniPath: string): IniEnvironment[] {
	if (!all.length)
		throw new BackupError(
			'INVALID_INPUT',
			`${iniPath} has no environment (no section with SourcePath or RootPath)`,
			'Point "appserver.ini Path" at the AppServer\'s appserver.ini, or list the folders to back up instead.',
		);
	if (!wanted.length) return all;
	const byName = new Map(all.map((e) => [e.name.toLowerCase(), e]));
	const missing = wanted.filter((w) => !byName.has(w.toLowerCase()));
	if (missing.length)
		throw new BackupError(
			'INVALID_INPUT',
			`${iniPath} has no environment named ${missing.join(', ')}`,
			`Environments in that file: ${all.map((e) => e.name).join(', ')}.`,
		);
	return wanted.map((w) => byName.get(w.toLowerCase())!);
}
