"""The vote module: votes, questions, answers, attaches, ballots; message UUIDs for templateId.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from b24vote.storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("anonymity", sa.Integer, nullable=False, server_default="1"),
        sa.Column("options", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unique_type", sa.Integer, nullable=False, server_default="40"),
        sa.Column("active", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("date_start", UTCDateTime, nullable=False),
        sa.Column("date_end", UTCDateTime, nullable=False),
        sa.Column("counter", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stop_event_handled", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("timestamp_x", UTCDateTime, nullable=False),
    )
    op.create_table(
        "vote_questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("vote_id", sa.Integer, sa.ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("c_sort", sa.Integer, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("field_type", sa.Integer, nullable=False, server_default="0"),
        sa.Column("required", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("counter", sa.Integer, nullable=False, server_default="0"),
        sa.Column("timestamp_x", UTCDateTime, nullable=False),
    )
    op.create_index("ix_vote_questions_vote", "vote_questions", ["vote_id", "c_sort", "id"])
    op.create_table(
        "vote_answers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("question_id", sa.Integer, sa.ForeignKey("vote_questions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("vote_id", sa.Integer, sa.ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("c_sort", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("reaction", sa.String(64), nullable=False, server_default=""),
        sa.Column("counter", sa.Integer, nullable=False, server_default="0"),
        sa.Column("timestamp_x", UTCDateTime, nullable=False),
    )
    op.create_index("ix_vote_answers_vote", "vote_answers", ["vote_id", "c_sort", "id"])
    op.create_table(
        "vote_attaches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("vote_id", sa.Integer, sa.ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("module_id", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(255), nullable=False),
        sa.Column("module_key", sa.String(64), nullable=False),
        sa.Column("entity_type_key", sa.String(255), nullable=False),
        sa.Column("entity_id", sa.Integer, nullable=False),
        sa.Column("uid", sa.String(16), nullable=True, unique=True),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_index("ix_vote_attaches_entity", "vote_attaches", ["module_key", "entity_type_key", "entity_id", "id"])
    op.create_table(
        "vote_ballots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("vote_id", sa.Integer, sa.ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("visible", sa.Boolean, nullable=False),
        sa.Column("date_vote", UTCDateTime, nullable=False),
        sa.UniqueConstraint("vote_id", "user_id", name="uq_vote_ballots_voter"),
    )
    op.create_table(
        "vote_ballot_questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ballot_id", sa.Integer, sa.ForeignKey("vote_ballots.id", ondelete="CASCADE"), nullable=False),
        sa.Column("question_id", sa.Integer, sa.ForeignKey("vote_questions.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_vote_ballot_questions_ballot", "vote_ballot_questions", ["ballot_id"])
    op.create_table(
        "vote_ballot_answers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "ballot_question_id",
            sa.Integer,
            sa.ForeignKey("vote_ballot_questions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ballot_id", sa.Integer, sa.ForeignKey("vote_ballots.id", ondelete="CASCADE"), nullable=False),
        sa.Column("vote_id", sa.Integer, nullable=False),
        sa.Column("question_id", sa.Integer, nullable=False),
        sa.Column("answer_id", sa.Integer, sa.ForeignKey("vote_answers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("visible", sa.Boolean, nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_vote_ballot_answers_answer_user", "vote_ballot_answers", ["answer_id", "visible", "user_id"])
    op.create_index("ix_vote_ballot_answers_ballot", "vote_ballot_answers", ["ballot_id"])
    op.create_table(
        "message_uuids",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=True),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "message_uuids",
        "vote_ballot_answers",
        "vote_ballot_questions",
        "vote_ballots",
        "vote_attaches",
        "vote_answers",
        "vote_questions",
        "votes",
    ):
        op.drop_table(table)
