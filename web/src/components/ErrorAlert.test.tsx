import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiError, errorFrom } from '../api/client';
import { renderWith } from '../test-utils';
import { ErrorAlert } from './ErrorAlert';

function response(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers });
}

describe('errorFrom', () => {
  it('reads our error body with its field', async () => {
    const error = await errorFrom(response(400, { error: 'BadRequest',
      message: 'spec steps.2.event: Field required', field: 'steps.2.event' }));
    expect(error).toMatchObject({ status: 400, code: 'BadRequest', field: 'steps.2.event',
      message: 'spec steps.2.event: Field required' });
  });

  it("reads FastAPI's validation answer as a field path", async () => {
    const error = await errorFrom(response(422, { detail: [
      { loc: ['body', 'email'], msg: 'value is not a valid email address' }] }));
    expect(error.field).toBe('email');
    expect(error.message).toBe('value is not a valid email address');
  });

  it('keeps Retry-After of a rate limit', async () => {
    const error = await errorFrom(response(429, { error: 'rate_limited', message: 'slow down' },
      { 'Retry-After': '120' }));
    expect(error.retryAfter).toBe(120);
  });
});

describe('ErrorAlert', () => {
  it('shows the message and the field', () => {
    renderWith(<ErrorAlert error={new ApiError(400, 'BadRequest',
      'spec series.0.filters.1.value: between needs [low, high] numbers',
      'series.0.filters.1.value')} />);
    expect(screen.getByTestId('api-error-message')).toHaveTextContent('between needs');
    expect(screen.getByTestId('api-error-field'))
      .toHaveTextContent('Field: series.0.filters.1.value');
    expect(screen.getByTestId('api-error')).toHaveTextContent('(400)');
  });

  it('names the field in Chinese', () => {
    renderWith(<ErrorAlert error={new ApiError(400, 'BadRequest', 'bad', 'steps.1.event')} />,
      'zh-CN');
    expect(screen.getByTestId('api-error-field')).toHaveTextContent('字段：steps.1.event');
  });

  it('says when the server cannot be reached and when to retry', () => {
    renderWith(<ErrorAlert error={new ApiError(0, 'network', 'Failed to fetch')} />);
    expect(screen.getByTestId('api-error-message'))
      .toHaveTextContent('The server could not be reached.');
    renderWith(<ErrorAlert error={new ApiError(429, 'rate_limited', 'x', null, 30)} />);
    expect(screen.getAllByTestId('api-error-message')[1]).toHaveTextContent('30 seconds');
  });

  it('renders nothing without an error', () => {
    renderWith(<div data-testid="box"><ErrorAlert error={null} /></div>);
    expect(screen.getByTestId('box')).toBeEmptyDOMElement();
  });
});
