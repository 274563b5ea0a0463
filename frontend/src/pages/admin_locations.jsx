// pages/admin_locations.jsx: the spool location updates Spoolman refused: send the latest again, or give one up.
import { ReviewSection } from './admin_review.jsx';
import * as fmt from '../format.js';

const place = (r) => (r.location !== null ? `"${r.location}"` : 'no location (cleared)');

const LOCATIONS = {
	id: 'locations',
	title: 'Location updates',
	path: '/location-updates',
	noun: 'location update',
	intro: (o) => 'Each spool\'s Spoolman location, written as it enters or leaves a tray. Updates Spoolman ' +
		'refused wait here for review; only the latest of a spool can be sent again.' +
		(o ? ` Open now: ${o.pending} waiting, ${o.needs_review} to review.` : ''),
	views: [
		['needs_review', 'Needs review'],
		['pending,needs_review', 'Open'],
		['done', 'Sent'],
		['superseded,discarded', 'Replaced or discarded'],
	],
	head: [['Update'], ['Spool'], ['Location'], ['State'], ['Last error']],
	cells: (r) => [
		<td data-label="Update">{r.id}<div class="muted small">{fmt.dateTime(r.created_at)}</div></td>,
		<td data-label="Spool">#{r.spool_id} {r.spool_name || ''}</td>,
		<td data-label="Location">{place(r)}<div class="muted small">{r.reason === 'left' ? 'left a tray' :
			'entered a tray'}</div></td>,
		<td data-label="State">{r.state}{r.attempts ? ` (${r.attempts} tries)` : ''}{r.later && r.state ===
			'needs_review' ? <div class="muted small">the spool moved since</div> : null}</td>,
		<td class="wrap" data-label="Last error">{r.last_error || '–'}</td>,
	],
	canRetry: (r) => r.state === 'needs_review' && !r.later,
	canDiscard: (r) => r.state === 'needs_review',
	what: (r) => `The location ${place(r)} of spool #${r.spool_id}`,
	placeholder: 'spool deleted in Spoolman',
};

/** LocationSection: GET /api/v1/location-updates; Retry (the latest of a spool) and Discard per refused update. */
export function LocationSection() {
	return <ReviewSection kind={LOCATIONS} />;
}
