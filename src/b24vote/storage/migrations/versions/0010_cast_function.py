"""A vote in one round trip on PostgreSQL: the function ``b24vote_cast`` stores a ballot and moves the counters.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

``vote.AttachedVote.vote`` sent ~10 statements per ballot through the asyncio driver, each a round trip: the
voter lock, the ballot read, the old ballot's rows removed, the new ones stored, read back, the counters moved.
The function runs that sequence server-side in the caller's transaction, in the same order and with the same
rules as ``b24vote.storage.polls.cast_ballot`` runs it on SQLite (which has no such functions and needs none: its
statements cost microseconds). It returns what the reply needs as one JSON value:

- ``{"refused": true}`` when the voter has a ballot and the poll allows no re-vote (nothing changed);
- otherwise ``ballot`` (the new ballot's id), ``choices`` (``[choice id, ballot question id, question id, answer
  id]`` in the order stored), ``gone_questions``/``gone_answers`` (of the ballot it replaced), ``counter`` (the
  poll's ballots) and ``questions``/``answers`` (id → counter of each row it moved).

(Migration 0011 moves the counter updates before the ballot's inserts.) Counter rows are updated last and in id
order, as the Python path does, so that two votes on one poll take the
row locks in the same order and hold them only until the commit that follows.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CAST = """
CREATE OR REPLACE FUNCTION b24vote_cast(
    p_poll integer, p_voter integer, p_visible boolean, p_at timestamp without time zone, p_revote boolean,
    p_questions integer[], p_answers integer[], p_version bigint
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    old_ballot integer;
    new_ballot integer;
    ballot_question integer;
    last_question integer;
    choice integer;
    moved integer;
    gone_q integer[] := '{}';
    gone_a integer[] := '{}';
    came_q integer[];
    came_a integer[];
    choices jsonb := '[]';
    poll_counter integer;
    question_counters jsonb := '{}';
    answer_counters jsonb := '{}';
    ballots_delta integer := 1;
    r record;
BEGIN
    PERFORM pg_advisory_xact_lock(p_poll, p_voter);
    SELECT id INTO old_ballot FROM vote_ballots WHERE vote_id = p_poll AND user_id = p_voter;
    IF old_ballot IS NOT NULL THEN
        IF NOT p_revote THEN
            RETURN jsonb_build_object('refused', true);
        END IF;
        -- Children first: the cascade would remove the rows whose ids the counters need.
        WITH gone AS (DELETE FROM vote_ballot_answers WHERE ballot_id = old_ballot RETURNING question_id, answer_id)
        SELECT coalesce(array_agg(DISTINCT question_id), '{}'), coalesce(array_agg(DISTINCT answer_id), '{}')
            INTO gone_q, gone_a FROM gone;
        DELETE FROM vote_ballot_questions WHERE ballot_id = old_ballot;
        DELETE FROM vote_ballots WHERE id = old_ballot;
        IF cardinality(gone_q) > 0 OR cardinality(gone_a) > 0 THEN
            ballots_delta := 0;
        END IF;
    END IF;
    INSERT INTO vote_ballots (vote_id, user_id, visible, date_vote)
        VALUES (p_poll, p_voter, p_visible, p_at) RETURNING id INTO new_ballot;
    FOR r IN SELECT t.q, t.a FROM unnest(p_questions, p_answers) WITH ORDINALITY AS t(q, a, n) ORDER BY t.n LOOP
        IF last_question IS DISTINCT FROM r.q THEN
            INSERT INTO vote_ballot_questions (ballot_id, question_id)
                VALUES (new_ballot, r.q) RETURNING id INTO ballot_question;
            last_question := r.q;
        END IF;
        INSERT INTO vote_ballot_answers
            (ballot_question_id, ballot_id, vote_id, question_id, answer_id, user_id, visible, message)
            VALUES (ballot_question, new_ballot, p_poll, r.q, r.a, p_voter, p_visible, '') RETURNING id INTO choice;
        choices := choices || jsonb_build_array(jsonb_build_array(choice, ballot_question, r.q, r.a));
    END LOOP;
    came_q := ARRAY(SELECT DISTINCT x FROM unnest(p_questions) AS x);
    came_a := ARRAY(SELECT DISTINCT x FROM unnest(p_answers) AS x);
    UPDATE votes SET counter = CASE WHEN counter + ballots_delta > 0 THEN counter + ballots_delta ELSE 0 END,
        version = p_version WHERE id = p_poll RETURNING counter INTO poll_counter;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'poll % vanished inside its transaction', p_poll;
    END IF;
    FOR r IN SELECT x AS id, (x = ANY(came_q))::integer - (x = ANY(gone_q))::integer AS delta
             FROM (SELECT DISTINCT x FROM unnest(came_q || gone_q) AS x) AS rows ORDER BY x LOOP
        CONTINUE WHEN r.delta = 0;
        UPDATE vote_questions SET counter = CASE WHEN counter + r.delta > 0 THEN counter + r.delta ELSE 0 END
            WHERE id = r.id RETURNING counter INTO moved;
        IF FOUND THEN
            question_counters := question_counters || jsonb_build_object(r.id::text, moved);
        END IF;
    END LOOP;
    FOR r IN SELECT x AS id, (x = ANY(came_a))::integer - (x = ANY(gone_a))::integer AS delta
             FROM (SELECT DISTINCT x FROM unnest(came_a || gone_a) AS x) AS rows ORDER BY x LOOP
        CONTINUE WHEN r.delta = 0;
        UPDATE vote_answers SET counter = CASE WHEN counter + r.delta > 0 THEN counter + r.delta ELSE 0 END
            WHERE id = r.id RETURNING counter INTO moved;
        IF FOUND THEN
            answer_counters := answer_counters || jsonb_build_object(r.id::text, moved);
        END IF;
    END LOOP;
    RETURN jsonb_build_object(
        'ballot', new_ballot, 'choices', choices, 'gone_questions', to_jsonb(gone_q),
        'gone_answers', to_jsonb(gone_a), 'counter', poll_counter,
        'questions', question_counters, 'answers', answer_counters
    );
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CAST)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS b24vote_cast(integer, integer, boolean, timestamp without time zone, boolean, "
            "integer[], integer[], bigint)"
        )
