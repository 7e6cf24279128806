import { configure, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SegmentDefinition } from '../api/segments';
import { TreeEditor } from './TreeEditor';
import { buildDefinition, defaultTree, draftDefinition } from './tree';
import type { ConditionDraft, GroupDraft } from './tree';
import { chooseOption, renderInProject, testProject } from '../test-utils';

configure({ asyncUtilTimeout: 8000 });

const project = testProject({ order_event: 'order_completed' });

beforeEach(() => {
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
    if (url.includes('/event-definitions')) {
      return json([{ name: 'order_completed' }, { name: 'view_item' }]);
    }
    if (url === '/api/projects/shop/segments') {
      return json([{ id: 4, name: 'Buyers' }, { id: 9, name: 'Churned' }]);
    }
    return json([]);
  }));
});

afterEach(() => vi.unstubAllGlobals());

function Harness({ initial }: { initial: GroupDraft }) {
  const [tree, setTree] = useState(initial);
  return (
    <>
      <TreeEditor value={tree} onChange={setTree} selfId={9} />
      <pre data-testid="json">{JSON.stringify(buildDefinition(tree))}</pre>
    </>
  );
}

function renderTree(initial: GroupDraft = defaultTree()) {
  renderInProject(<Harness initial={initial} />, { project });
}

const definition = (): SegmentDefinition =>
  JSON.parse(screen.getByTestId('json').textContent ?? 'null') as SegmentDefinition;

describe('the segment tree editor', () => {
  it('builds the definition from what is chosen on screen', async () => {
    renderTree();
    await chooseOption('tree-0-event', 'order_completed');
    const count = screen.getByTestId('tree-0-count');
    fireEvent.change(count, { target: { value: '2' } });
    fireEvent.blur(count);
    await waitFor(() => expect(definition()).toEqual({ and: [{
      kind: 'performed', event: 'order_completed', operator: 'gte', count: 2,
      window: { last_days: 30 } }] }));

    // An "or" group below, its condition switched to "member of a segment", the group negated.
    fireEvent.click(screen.getByTestId('tree-add-group'));
    await chooseOption('tree-1-0-kind', 'Member of a segment');
    await chooseOption('tree-1-0-segment', 'Buyers');
    expect(screen.queryByTitle('Churned')).toBeNull(); // the segment itself is not offered
    fireEvent.click(screen.getByTestId('tree-1-not'));
    await chooseOption('tree-1-op', 'Any of (or)'); // already "or": stays
    await chooseOption('tree-op', 'Any of (or)');
    await waitFor(() => expect(definition()).toEqual({ or: [
      { kind: 'performed', event: 'order_completed', operator: 'gte', count: 2,
        window: { last_days: 30 } },
      { not: { or: [{ kind: 'segment', id: 4 }] } },
    ] }));

    // All time drops the window; removing the first node leaves the group alone.
    await chooseOption('tree-0-window-mode', 'All time');
    expect((definition() as { or: SegmentDefinition[] }).or[0]).toEqual(
      { kind: 'performed', event: 'order_completed', operator: 'gte', count: 2 });
    fireEvent.click(screen.getByTestId('tree-0-remove'));
    await waitFor(() => expect(definition()).toEqual(
      { or: [{ not: { or: [{ kind: 'segment', id: 4 }] } }] }));
  }, 30_000);

  it('builds an aggregate and a person condition with the analyses operators', async () => {
    renderTree();
    await chooseOption('tree-0-kind', 'Aggregate of a property');
    await chooseOption('tree-0-event', 'order_completed');
    fireEvent.change(within(screen.getByTestId('tree-0-property')).getByRole('combobox'),
      { target: { value: 'revenue' } });
    const value = screen.getByTestId('tree-0-value');
    fireEvent.change(value, { target: { value: '500' } });
    fireEvent.blur(value);
    fireEvent.click(screen.getByTestId('tree-add-condition'));
    await chooseOption('tree-1-kind', 'Person property');
    fireEvent.change(within(screen.getByTestId('tree-1-key')).getByRole('combobox'),
      { target: { value: 'plan' } });
    await chooseOption('tree-1-person-op', 'is one of');
    const values = within(screen.getByTestId('tree-1-person-value')).getByRole('combobox');
    fireEvent.change(values, { target: { value: 'pro' } });
    fireEvent.keyDown(values, { key: 'Enter', code: 'Enter', keyCode: 13 });
    fireEvent.click(screen.getByTestId('tree-1-not'));
    await waitFor(() => expect(definition()).toEqual({ and: [
      { kind: 'aggregate', event: 'order_completed', math: 'sum', operator: 'gte',
        window: { last_days: 30 }, property: 'revenue', value: 500 },
      { not: { kind: 'person', key: 'plan', operator: 'in', value: ['pro'] } },
    ] }));
  }, 30_000);
});

describe('definitions and drafts', () => {
  it('reads a saved definition back into the same JSON', () => {
    const saved: SegmentDefinition = { and: [
      { kind: 'performed', event: 'order_completed', operator: 'gte', count: 2,
        filters: [{ key: 'amount', type: 'event', operator: 'gt', value: 10 }],
        window: { start: '2026-01-01', end: '2026-01-31' } },
      { or: [
        { kind: 'not_performed', event: 'view_item' },
        { not: { kind: 'first_performed', event: 'signup', window: { last_days: 7 } } },
      ] },
      { kind: 'aggregate', event: 'order_completed', property: 'revenue', math: 'avg',
        operator: 'lt', value: 3.5 },
      { kind: 'person', key: 'plan', operator: 'eq', value: 'free' },
      { kind: 'funnel', funnel: { kind: 'funnel', steps: [{ event: 'view_item' },
        { event: 'order_completed' }], date_range: { last_days: 30 },
        window: { value: 7, unit: 'day' }, mode: 'ordered' }, step: 1, status: 'dropped' },
      { kind: 'segment', id: 3 },
      { kind: 'persons', ids: [1, 2, 5] },
      { kind: 'distinct_ids', ids: ['u-1', 'anon 2, x'] },
    ] };
    expect(buildDefinition(draftDefinition(saved))).toEqual(saved);
  }, 30_000);

  it('puts a root that is not a plain group under one, and leaves empty groups out', () => {
    const not: SegmentDefinition = { not: { kind: 'segment', id: 3 } };
    const tree = draftDefinition(not);
    expect(tree.type).toBe('group');
    expect(buildDefinition(tree)).toEqual({ and: [not] });
    expect(buildDefinition({ ...tree, children: [] })).toBeNull();
  }, 30_000);

  it('round-trips a funnel condition with step filters, labels, exclusions and shared filters',
    () => {
      const funnel: SegmentDefinition = { kind: 'funnel', funnel: { kind: 'funnel',
        steps: [
          { event: 'view_item', label: 'Viewed',
            filters: [{ key: 'price', type: 'event', operator: 'gt', value: 10 }] },
          { event: 'add_to_cart' },
          { event: 'order_completed', filters: [{ key: 'amount', type: 'event', operator: 'gte',
            value: 100 }] },
        ],
        exclusions: [{ event: 'refund', from_step: 1, to_step: 2,
          filters: [{ key: 'reason', type: 'event', operator: 'eq', value: 'fraud' }] }],
        filters: [{ key: '$os', type: 'event', operator: 'eq', value: 'iOS' }],
        date_range: { last_days: 30 } }, step: 2 };
      const saved: SegmentDefinition = { and: [funnel, { not: funnel }] };
      // Opened and saved untouched: exactly what was loaded (no window or mode added).
      expect(buildDefinition(draftDefinition(saved))).toEqual(saved);

      // Edited: only the edited fields change; step filters, labels, exclusions stay.
      const tree = draftDefinition(funnel);
      const draft = tree.children[0] as ConditionDraft;
      const edited = { ...draft, funnel: { ...draft.funnel, status: 'dropped' as const,
        mode: 'strict' as const } };
      expect(buildDefinition({ ...tree, children: [edited] })).toEqual({ and: [{
        ...funnel, status: 'dropped',
        funnel: { ...funnel.funnel, mode: 'strict', window: { value: 14, unit: 'day' } } }] });
    }, 30_000);

  it('keeps a step\'s filters with it when an earlier step is removed on screen', async () => {
    renderTree(draftDefinition({ kind: 'funnel', funnel: { kind: 'funnel',
      steps: [{ event: 'view_item' }, { event: 'add_to_cart', label: 'Cart' },
        { event: 'order_completed',
          filters: [{ key: 'amount', type: 'event', operator: 'gt', value: 5 }] }],
      exclusions: [{ event: 'refund', from_step: 0, to_step: 1 }],
      date_range: { last_days: 7 }, window: { value: 1, unit: 'day' }, mode: 'ordered' },
    step: 1 }));
    const row = screen.getByTestId('tree-0-funnel-step-0').closest('.ant-space') as HTMLElement;
    fireEvent.click(within(row).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(definition()).toEqual({ and: [{ kind: 'funnel',
      funnel: { kind: 'funnel',
        steps: [{ event: 'add_to_cart', label: 'Cart' }, { event: 'order_completed',
          filters: [{ key: 'amount', type: 'event', operator: 'gt', value: 5 }] }],
        exclusions: [{ event: 'refund', from_step: 0, to_step: 1 }],
        date_range: { last_days: 7 }, window: { value: 1, unit: 'day' }, mode: 'ordered' },
      step: 1, status: 'converted' }] }));
  }, 30_000);

  it('counts "performed" at least once when the count box is cleared', () => {
    const tree = defaultTree();
    const cleared = { ...(tree.children[0] as ConditionDraft), event: 'order_completed',
      count: null };
    expect(buildDefinition({ ...tree, children: [cleared] })).toEqual({ and: [{
      kind: 'performed', event: 'order_completed', operator: 'gte', count: 1,
      window: { last_days: 30 } }] });
  });
});
