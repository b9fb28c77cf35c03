/**
 * Include/exclude patterns for the file tree, gitignore-like and case-insensitive (Protheus
 * runs on Windows as often as on Linux, and users type `*.RPO` and `*.rpo` alike):
 * - `*` and `?` stay inside one path segment, `**` crosses segments, `[abc]` is a class;
 * - a pattern matches at any depth (`system` matches `protheus_data/system`), unless it
 *   starts with `/`, which anchors it at the root label (`/protheus_data/system`);
 * - a pattern that matches a folder matches everything below it.
 * Paths are matched as they appear in the index: `<root label>/<path inside the root>`.
 */
export type PathMatcher = (path: string) => boolean;

/** What a Protheus install needs: RPOs, ini files, Protheus_Data's system, profile, web, dirdoc and local tables. */
export const PROTHEUS_DEFAULT_INCLUDE = [
	'*.rpo',
	'*.ini',
	'system',
	'profile',
	'web',
	'dirdoc',
	'data',
	'*.pem',
	'*.pfx',
];
/** Re-downloadable or transient: systemload, spool, logs and temporary files. */
export const PROTHEUS_DEFAULT_EXCLUDE = ['systemload', 'spool', 'logs', 'tmp', 'temp', '*.log', '*.tmp'];

export function compilePattern(pattern: string): RegExp {
	let body = pattern.trim().replace(/\\/g, '/').replace(/\/+$/, '');
	const anchored = body.startsWith('/');
	body = body.replace(/^\/+/, '');
	let regex = '';
	for (let i = 0; i < body.length; i++) {
		const c = body[i];
		if (c === '*' && body[i + 1] === '*') {
			const wholeSegment = (i === 0 || body[i - 1] === '/') && (body[i + 2] === '/' || i + 2 === body.length);
			if (wholeSegment && body[i + 2] === '/') {
				regex += '(?:.*/)?';
				i += 2;
			} else {
				regex += '.*';
				i += 1;
			}
		} else if (c === '*') regex += '[^/]*';
		else if (c === '?') regex += '[^/]';
		else if (c === '[') {
			const close = body.indexOf(']', i + 2);
			if (close === -1) regex += '\\[';
			else {
				const inner = body
					.slice(i + 1, close)
					.replace(/^!/, '^')
					.replace(/\\/g, '\\\\');
				regex += `[${inner}]`;
				i = close;
			}
		} else regex += c.replace(/[.+^${}()|\\]/g, '\\$&');
	}
	return new RegExp(`^${anchored ? '' : '(?:.*/)?'}${regex}(?:/.*)?$`, 'i');
}

/** True when any pattern matches; an empty list matches nothing. */
export function anyPattern(patterns: string[]): PathMatcher {
	const compiled = patterns.filter((p) => p.trim()).map(compilePattern);
	return (path) => compiled.some((r) => r.test(path));
}

export interface Selection {
	/** Whether to descend into a folder at all (excluded folders are not even read). */
	enterFolder: PathMatcher;
	/** Whether an entry is backed up; folders are also kept when something inside them is. */
	includes: PathMatcher;
}

/**
 * An empty include list means everything; excludes win over includes. `forced` paths (files
 * named explicitly, such as the RPOs an appserver.ini points at) are always kept.
 */
export function makeSelection(include: string[], exclude: string[], forced: string[] = []): Selection {
	const excluded = anyPattern(exclude);
	const included = include.some((p) => p.trim()) ? anyPattern(include) : () => true;
	const always = new Set(forced.map((p) => p.toLowerCase()));
	const leadsToForced = (path: string) => [...always].some((f) => f.startsWith(`${path.toLowerCase()}/`));
	return {
		enterFolder: (path) => !excluded(path) || leadsToForced(path),
		includes: (path) => always.has(path.toLowerCase()) || (included(path) && !excluded(path)),
	};
}
