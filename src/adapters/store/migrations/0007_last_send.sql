-- journal_apply as in 0005, one rule changed: a 'sent' op moves orders.sent_ms to the latest send
-- (it kept the first). The REST client resends a create whose answer was lost, journaling each
-- resend before it leaves; a create can land until the REST timeout after its *last* send, and a
-- restart counts its landing window from sent_ms (actors/sync.ts → the order actor's recovered input).

CREATE OR REPLACE FUNCTION journal_apply(ops jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  op jsonb;
  out jsonb[] := '{}';
  r orders%ROWTYPE;
  found_id text;
  new_id bigint;
BEGIN
  FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
    CASE op->>'op'
    WHEN 'intent' THEN
      INSERT INTO orders (client_order_id, env, trader, decision_id, ticker, side, price, count, tif,
                          post_only, reduce_only, expiration_s, state, error, created_ms, updated_ms)
      VALUES (op->>'clientOrderId', op->>'env', op->>'trader', (op->>'decisionId')::bigint, op->>'ticker',
              op->>'side', (op->>'price')::integer, (op->>'count')::bigint, op->>'tif',
              COALESCE((op->>'postOnly')::boolean, false), COALESCE((op->>'reduceOnly')::boolean, false),
              (op->>'expirationS')::bigint, COALESCE(op->>'state', 'initialized'), op->>'error',
              (op->>'createdMs')::bigint, (op->>'createdMs')::bigint)
      ON CONFLICT (client_order_id) DO NOTHING
      RETURNING * INTO r;
      IF FOUND THEN
        out := array_append(out, jsonb_build_object('row', to_jsonb(r)));
      ELSE
        out := array_append(out, '{"error": "duplicate"}'::jsonb);
      END IF;

    WHEN 'sent' THEN
      -- only moves an `initialized` order to `submitted`; sent_ms is the latest send (GREATEST skips NULL)
      UPDATE orders SET state = CASE WHEN state = 'initialized' THEN 'submitted' ELSE state END,
                        sent_ms = GREATEST(sent_ms, (op->>'sentMs')::bigint),
                        updated_ms = GREATEST(updated_ms, (op->>'sentMs')::bigint)
       WHERE client_order_id = op->>'clientOrderId' RETURNING client_order_id INTO found_id;
      IF FOUND THEN
        out := array_append(out, '{"ok": true}'::jsonb);
      ELSE
        out := array_append(out, '{"error": "unknown_order"}'::jsonb);
      END IF;

    WHEN 'answer' THEN
      -- A closed order stays closed: a create answer that arrives after the fills or cancel that
      -- closed it (or any older report) must not move it back to accepted, nor lower its fills.
      UPDATE orders SET state = CASE WHEN state IN ('filled', 'canceled', 'expired', 'rejected', 'denied') THEN state ELSE op->>'state' END,
             venue_order_id = COALESCE(op->>'orderId', venue_order_id),
             venue_status = CASE WHEN state IN ('filled', 'canceled', 'expired', 'rejected', 'denied') THEN venue_status
                                 ELSE COALESCE(op->>'status', venue_status) END,
             fill_count = GREATEST(fill_count, COALESCE((op->>'fillCount')::bigint, fill_count)),
             remaining_count = CASE WHEN state IN ('filled', 'canceled', 'expired', 'rejected', 'denied') THEN remaining_count
                                    ELSE COALESCE((op->>'remainingCount')::bigint, remaining_count) END,
             avg_fill_price = COALESCE((op->>'avgFillPrice')::integer, avg_fill_price),
             fees = COALESCE((op->>'fees')::bigint, fees), error = COALESCE(op->>'error', error),
             answered_ms = COALESCE(answered_ms, (op->>'answeredMs')::bigint),
             updated_ms = GREATEST(updated_ms, (op->>'answeredMs')::bigint)
       WHERE client_order_id = op->>'clientOrderId' RETURNING * INTO r;
      IF FOUND THEN
        INSERT INTO order_events (client_order_id, kind, state, at_ms, details)
        VALUES (op->>'clientOrderId', 'venue_answer', op->>'state', (op->>'answeredMs')::bigint, COALESCE(op->'details', '{}'::jsonb));
        out := array_append(out, jsonb_build_object('row', to_jsonb(r)));
      ELSE
        out := array_append(out, '{"error": "unknown_order"}'::jsonb);
      END IF;

    WHEN 'event' THEN
      -- an order event; when it carries a state or venue fields the order moves with it
      UPDATE orders SET state = COALESCE(op->>'state', state), venue_order_id = COALESCE(op->>'venueOrderId', venue_order_id),
             venue_status = COALESCE(op->>'venueStatus', venue_status), fill_count = COALESCE((op->>'fillCount')::bigint, fill_count),
             remaining_count = COALESCE((op->>'remainingCount')::bigint, remaining_count),
             updated_ms = GREATEST(updated_ms, (op->>'atMs')::bigint)
       WHERE client_order_id = op->>'clientOrderId' RETURNING client_order_id INTO found_id;
      IF FOUND THEN
        INSERT INTO order_events (client_order_id, kind, state, at_ms, details)
        VALUES (op->>'clientOrderId', op->>'kind', op->>'state', (op->>'atMs')::bigint, COALESCE(op->'details', '{}'::jsonb))
        RETURNING id INTO new_id;
        out := array_append(out, jsonb_build_object('id', new_id));
      ELSE
        out := array_append(out, '{"error": "unknown_order"}'::jsonb);
      END IF;

    WHEN 'fill' THEN
      -- once per fill id; the client order id looked up by venue order id when the fill lacks it
      INSERT INTO fills (fill_id, venue_order_id, client_order_id, env, ticker, side, outcome_side, yes_price,
                         count, fee, is_taker, ts_ms, recorded_ms, source)
      VALUES (op->>'fillId', op->>'venueOrderId',
              COALESCE(op->>'clientOrderId', (SELECT client_order_id FROM orders WHERE venue_order_id = op->>'venueOrderId')),
              op->>'env', op->>'ticker', op->>'side', op->>'outcomeSide', (op->>'yesPrice')::integer,
              (op->>'count')::bigint, (op->>'fee')::bigint, (op->>'isTaker')::boolean, (op->>'tsMs')::bigint,
              (op->>'recordedMs')::bigint, op->>'source')
      ON CONFLICT (fill_id) DO NOTHING
      RETURNING fill_id INTO found_id;
      out := array_append(out, jsonb_build_object('new', FOUND));

    WHEN 'decision' THEN
      INSERT INTO trader_decisions (trader, strategy, env, ticker, at_ms, action, price, count, outcome, reason,
                                    model_id, recording_session_id, details)
      VALUES (op->>'trader', op->>'strategy', op->>'env', op->>'ticker', (op->>'atMs')::bigint, op->>'action',
              (op->>'price')::integer, (op->>'count')::bigint, op->>'outcome', op->>'reason', (op->>'modelId')::bigint,
              (op->>'recordingSessionId')::bigint, COALESCE(op->'details', '{}'::jsonb))
      RETURNING id INTO new_id;
      out := array_append(out, jsonb_build_object('id', new_id));

    ELSE
      RAISE EXCEPTION 'journal_apply: unknown op %', op->>'op' USING ERRCODE = '22023';
    END CASE;
  END LOOP;
  RETURN to_jsonb(out);
END
$$;
