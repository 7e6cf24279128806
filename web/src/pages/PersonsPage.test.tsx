import { configure, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Route, Routes } from 'react-router-dom';
import type { PersonProfile, ProjectSummary } from '../api/types';
import { computedOf, PersonProfilePage } from './PersonsPage';
import { renderInProject, testProject } from '../test-utils';

configure({ asyncUtilTimeout: 8000 });

const profile: PersonProfile = {
  person_id: 7, distinct_ids: ['u7'], traits: { email: 'ann@example.com' },
  first_seen: '2026-11-01T00:00:00Z', last_seen: '2026-11-20T00:00:00Z', first_touch: null,
  merges: [],
};

let served: PersonProfile;
let posts: { url: string; body: unknown }[];
let held: { id: number; name: string; color: string; kind: string; since: string }[];
let tagAnswer: ((body: { add: number[] }) => unknown) | null;
let reads: string[];

beforeEach(() => {
  served = profile;
  posts = [];
  tagAnswer = null;
  reads = [];
  held = [{ id: 2, name: 'Whale', color: 'gold', kind: 'rule', since: '2026-11-02T00:00:00Z' }];
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status });
    const path = url.split('?')[0];
    if (init.method === 'POST' && url.endsWith('/unmerge')) {
      posts.push({ url, body: JSON.parse(String(init.body)) });
      return json({ ...served, merges: served.merges.map((m) => ({ ...m,
        undone_at: '2026-11-21T00:00:00Z' })) });
    }
    if (init.method === 'POST') {
      const body = JSON.parse(String(init.body)) as { add: number[] };
      posts.push({ url, body });
      if (tagAnswer) return json(tagAnswer(body));
      if (body.add.length) {
        held = [...held, { id: 1, name: 'VIP', color: 'blue', kind: 'manual', since: '' }];
      }
      return json({ added: body.add.length, removed: 0, unknown: [] });
    }
    reads.push(path!);
    if (path === '/api/projects/shop/persons/7') return json(served);
    if (path === '/api/projects/shop/persons/7/events') return json({ events: [], next_before: null });
    if (path === '/api/projects/shop/persons/7/tags') return json(held);
    if (path === '/api/projects/shop/persons/7/segments') {
      return json([{ id: 4, name: 'Buyers', since: '2026-11-03T00:00:00Z' }]);
    }
    if (path === '/api/projects/shop/tags') {
      return json([
        { id: 1, name: 'VIP', kind: 'manual', color: 'blue', persons: 0 },
        { id: 2, name: 'Whale', kind: 'rule', color: 'gold', persons: 1, segment_id: 4 },
      ]);
    }
    return json({ error: 'not_found', message: 'Not Found' }, 404);
  }));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function open(role: ProjectSummary['role'] = 'analyst') {
  renderInProject(
    <Routes>
      <Route path="/p/:project/persons/:personId" element={<PersonProfilePage />} />
    </Routes>,
    { path: '/p/shop/persons/7', project: testProject({ role }) },
  );
}

describe('a person profile', { timeout: 20_000 }, () => {
  it('shows the tags and segments and adds a manual tag', async () => {
    open();
    expect(await screen.findByTestId('person-tag-2')).toHaveTextContent('Whale');
    expect(await screen.findByText('Buyers')).toBeInTheDocument();
    // A rule tag follows its segment: it cannot be taken off by hand.
    expect(within(screen.getByTestId('person-tag-2')).queryByRole('img', { name: 'close' }))
      .toBeNull();
    // Only manual tags the person lacks are offered.
    const select = screen.getByTestId('person-tag-select');
    fireEvent.mouseDown(select.querySelector('.ant-select-selector')!);
    const option = await screen.findByTitle('VIP');
    expect(screen.queryByTitle('Whale')).toBeNull();
    fireEvent.click(option);
    fireEvent.click(screen.getByTestId('person-tag-add'));
    await waitFor(() => expect(posts).toHaveLength(1));
    expect(posts[0]).toEqual({ url: '/api/projects/shop/tags/1/persons',
      body: { add: [7], remove: [] } });
    expect(await screen.findByTestId('person-tag-1')).toHaveTextContent('VIP');
  });
});

async function addVip() {
  await screen.findByTestId('person-tag-2');
  const select = screen.getByTestId('person-tag-select');
  fireEvent.mouseDown(select.querySelector('.ant-select-selector')!);
  fireEvent.click(await screen.findByTitle('VIP'));
  fireEvent.click(screen.getByTestId('person-tag-add'));
  await waitFor(() => expect(posts).toHaveLength(1));
}

describe('tagging a merged-away person', { timeout: 20_000 }, () => {
  it('gives the tag to the person the profile shows (the survivor)', async () => {
    served = { ...profile, person_id: 3 }; // /persons/7 was merged into person 3
    open();
    await addVip();
    expect(posts[0]).toEqual({ url: '/api/projects/shop/tags/1/persons',
      body: { add: [3], remove: [] } });
    expect(await screen.findByText('Tag added.')).toBeInTheDocument();
  });

  it('says nothing changed when the server knows no such person', async () => {
    tagAnswer = (body) => ({ added: 0, removed: 0, unknown: body.add });
    open();
    await addVip();
    expect(await screen.findByText(/Nothing changed: person 7 holds no ids now/))
      .toBeInTheDocument();
    expect(screen.queryByText('Tag added.')).toBeNull();
  });
});

describe('undoing a merge', { timeout: 20_000 }, () => {
  it('reads the tags and segments again', async () => {
    served = { ...profile, merges: [{ id: 5, kept_id: '7', merged_id: '8',
      at: '2026-11-10T00:00:00Z', undone_at: null }] };
    open('admin');
    await screen.findByTestId('person-tag-2');
    await screen.findByText('Buyers');
    const count = (end: string) => reads.filter((r) => r.endsWith(end)).length;
    const before = [count('/persons/7/tags'), count('/persons/7/segments')];
    fireEvent.click(screen.getByTestId('unmerge-5'));
    fireEvent.click(await screen.findByRole('button', { name: 'Yes' }));
    await waitFor(() => expect(posts.map((p) => p.url)).toEqual(
      ['/api/projects/shop/persons/7/unmerge']));
    await waitFor(() => expect([count('/persons/7/tags'), count('/persons/7/segments')])
      .toEqual([before[0]! + 1, before[1]! + 1]));
  });
});

describe('the computed properties card', { timeout: 20_000 }, () => {
  it('names stages, RFM groups and tiers and formats dates and money', async () => {
    served = { ...profile, computed: {
      $orders: 1234, $revenue: 42.5, $lifecycle_stage: 'silent', $rfm_group: 'important_value',
      $value_tier: 'core', $first_seen: '2026-11-01T00:00:00Z', $rfm_score: '555' } } as
      PersonProfile;
    open();
    expect(await screen.findByTestId('computed-$orders')).toHaveTextContent('1,234');
    expect(screen.getByTestId('computed-$revenue')).toHaveTextContent('CN¥42.50');
    expect(screen.getByTestId('computed-$lifecycle_stage')).toHaveTextContent('Silent (at risk)');
    expect(screen.getByTestId('computed-$rfm_group')).toHaveTextContent('Champions');
    expect(screen.getByTestId('computed-$value_tier')).toHaveTextContent('Core users');
    // Midnight UTC is 08:00 in the project's Asia/Shanghai.
    expect(screen.getByTestId('computed-$first_seen')).toHaveTextContent('08:00:00');
    expect(screen.getByTestId('computed-$rfm_score')).toHaveTextContent('555');
  });
});

describe('computedOf', () => {
  it('lists the computed properties the profile carries, in a fixed order', () => {
    const withComputed = { ...profile,
      computed: { $revenue: 12, $rfm_group: 'important_value', $orders: 2 } };
    expect(computedOf(withComputed).map(([k]) => k)).toEqual(['$orders', '$revenue', '$rfm_group']);
    expect(computedOf(profile)).toEqual([]);
  });
});
