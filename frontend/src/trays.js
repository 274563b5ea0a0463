// trays.js: how a tray is named and judged (labels as the printer's own numbering; low-spool threshold).

/** LOW_GRAMS: a mapped spool with less than this left is shown as low (docs/frontend.md). */
export const LOW_GRAMS = 100;

/** trayLabel(kind, unit, tray): "AMS 1 slot 2", "AMS HT 1", "External spool", "External spool 2". */
export function trayLabel(kind, unit, tray) {
	if (kind === 'ams' || (kind === undefined && tray < 128))
		return `AMS ${Math.floor(tray / 4) + 1} slot ${(tray % 4) + 1}`;
	if (kind === 'ams_ht' || (kind === undefined && tray < 192))
		return `AMS HT ${tray - 128 + 1}`;
	return tray === 255 ? 'External spool 2' : 'External spool';
}

/** unitLabel(unit): the heading of a unit's trays. */
export function unitLabel(u) {
	if (u.kind === 'ams')
		return `AMS ${u.unit + 1}`;
	if (u.kind === 'ams_ht')
		return `AMS HT ${u.unit - 128 + 1}`;
	return u.unit === 255 ? 'External spool 2' : 'External spool';
}

/** spoolName(spool): "PLA Basic Black #1", or "Spool #3" when Spoolman's name is not known yet. */
export function spoolName(spool) {
	if (!spool)
		return '';
	return spool.name ? `${spool.name} #${spool.id}` : `Spool #${spool.id}`;
}

/**
 * materialMismatch(reported, material): a sentence when the spool's material differs from the type the printer
 * reports for the tray (compared without case or surrounding space, e.g. "PETG" vs "PLA"); null when they agree
 * or when either is unknown or empty (a tray without a type says nothing about its spool).
 */
export function materialMismatch(reported, material) {
	const r = typeof reported === 'string' ? reported.trim() : '';
	const m = typeof material === 'string' ? material.trim() : '';
	if (!r || !m || r.toLowerCase() === m.toLowerCase())
		return null;
	return `Material mismatch: the spool is ${m}, the printer reports ${r} in this tray`;
}

/** isLow(spool): the spool's known remaining weight is under LOW_GRAMS. */
export function isLow(spool) {
	return !!spool && typeof spool.remaining_weight === 'number' && spool.remaining_weight < LOW_GRAMS;
}

// RFID (docs/smart-trays.md): the tag state of a tray in words.  The tray routes give tag_state; the dashboard
// gives only tag, assigned_by and conflict, from which "unlinked" (pending or unknown) is the best guess.
const TAG_WORDS = {
	matched: 'assigned by tag', pending: 'tag being looked up', unknown: 'tag not linked', unlinked: 'tag not linked',
	conflict: 'tag conflict',
};

const CONFLICT_WORDS = {
	duplicate_tag: 'same tag in another tray',
	spool_in_other_tray: 'tagged spool is in another tray',
	tag_on_several_spools: 'tag on several spools',
};

/** tagState(t): null (no tag), or "matched", "pending", "unknown", "conflict"; "unlinked" when the tray carries no tag_state (dashboard) and is neither matched nor in conflict. */
export function tagState(t) {
	if (!t || !t.tag)
		return null;
	if (t.tag_state)
		return t.tag_state;
	if (t.conflict)
		return 'conflict';
	return t.assigned_by === 'tag' ? 'matched' : 'unlinked';
}

/** tagWords(t): the tray's tag state in a few words ("assigned by tag", "tag conflict: same tag in another tray"), or "" without a tag. */
export function tagWords(t) {
	const s = tagState(t);
	if (!s)
		return '';
	if (s === 'conflict')
		return 'tag conflict: ' + (CONFLICT_WORDS[t.conflict] || 'unknown cause');
	return TAG_WORDS[s] || 'tag ' + s;
}

/** conflictAdvice(t): what to do about the tray's tag conflict, in a sentence or two; "" without a conflict. */
export function conflictAdvice(t) {
	if (!t || !t.conflict)
		return '';
	const spool = t.tag_spool_id ? `spool #${t.tag_spool_id}` : 'the spool that carries it';
	switch (t.conflict) {
	case 'duplicate_tag':
		return 'The same RFID tag is reported in another tray too (of this or another printer), so neither tray is ' +
			'assigned by it. Take the spool out of the tray where it does not belong: the tray that keeps the tag is ' +
			'then assigned by itself.';
	case 'spool_in_other_tray':
		return `This tag belongs to ${spool}, which is mapped to another tray. Remove it from that tray (in that ` +
			'tray\'s dialog, or take it out of its AMS): this tray is then assigned by its tag by itself.';
	case 'tag_on_several_spools':
		return 'Several spools in Spoolman carry this RFID tag, so none is chosen. Clear the tag on all but one of ' +
			'them in Spoolman, then take the spool out of the AMS and put it back to look it up again.';
	default:
		return `The tag cannot be used (${t.conflict}). Take the spool out of the AMS and put it back.`;
	}
}

const LINK_WORDS = {
	no_tag: 'This tray reports no RFID tag any more: put the tagged spool back in and try again.',
	tag_assigned: 'This tray is already assigned by its tag.',
	spool_in_other_tray: 'That spool is mapped to another tray: remove it from there first, then link it here.',
	spool_has_tag: 'That spool already carries another RFID tag in Spoolman: clear the tag there first, or pick ' +
		'another spool.',
	conflict: 'The tag was written on the spool, but the tray could not be assigned by it: the tag left the tray or ' +
		'is in another tray too.',
};

/** linkTagError(e): an error of POST .../link-tag (ApiError) in plain words, the server's own sentence after it; other errors as the server said them. */
export function linkTagError(e) {
	if (e && e.status === 409 && LINK_WORDS[e.error])
		return LINK_WORDS[e.error] + (e.detail ? ` (${e.detail})` : '');
	if (e && e.status === 400)
		return 'Spoolman does not know that spool: ' + (e.detail || 'pick another one') + '.';
	return (e && (e.detail || e.message)) || String(e);
}
