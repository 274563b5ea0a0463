// pages/admin_outbox.jsx: the Spoolman outbox review: uses of filament by state, retry and discard (with a reason).
import { Link } from '../ui.jsx';
import { ReviewSection } from './admin_review.jsx';
import * as fmt from '../format.js';

const amount = (r) => (r.use_g !== null ? fmt.grams(r.use_g) : fmt.mm(r.use_mm));
const open = (r) => r.state === 'needs_review' || r.state === 'pending';

const OUTBOX = {
	id: 'outbox',
	title: 'Outbox',
	path: '/outbox',
	noun: 'row',
	intro: (o) => 'Uses of filament waiting to be sent to Spoolman, and those Spoolman refused.' +
		(o ? ` Open now: ${o.pending} pending, ${o.inflight} being sent, ${o.needs_review} to review.` : ''),
	views: [
		['needs_review', 'Needs review'],
		['pending,inflight,needs_review', 'Open'],
		['done', 'Sent'],
		['discarded', 'Discarded'],
		['pending,inflight,needs_review,done,discarded', 'All'],
	],
	head: [['Row'], ['Print'], ['Spool'], ['Amount', 'num'], ['State'], ['Last error']],
	cells: (r) => [
		<td data-label="Row">{r.id}<div class="muted small">{fmt.dateTime(r.created_at)}</div></td>,
		<td data-label="Print">{r.job_id ? <Link href={`/prints/${r.job_id}`}>{r.print_name || `Print ${r.job_id}`}</Link> :
			'manual'}{r.printer ? <div class="muted small">{r.printer}, layer {r.layer}</div> : null}</td>,
		<td data-label="Spool">#{r.spool_id} {r.spool_name || ''}</td>,
		<td class="num" data-label="Amount">{amount(r)}</td>,
		<td data-label="State">{r.state}{r.attempts ? ` (${r.attempts} tries)` : ''}</td>,
		<td class="wrap" data-label="Last error">{r.last_error || '–'}</td>,
	],
	canRetry: open,
	canDiscard: open,
	what: (r) => `The use of ${amount(r)} on spool #${r.spool_id}`,
	placeholder: 'spool thrown away',
};

/** OutboxSection: GET /api/v1/outbox with state views and "Show more"; retry and discard per row. */
export function OutboxSection() {
	return <ReviewSection kind={OUTBOX} />;
}
