"""administration: admin requests, operators, audit by customer account, back-channel logout

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 23:14:46.307322

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "admin_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consented_by_id", sa.Integer(), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consented_by_id"],
            ["users.id"],
            name=op.f("fk_admin_requests_consented_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_admin_requests_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_requests")),
    )
    with op.batch_alter_table("admin_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_requests_membership_id"), ["membership_id"], unique=False
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_account_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_audit_events_customer_account_id"), ["customer_account_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_events_customer_account_id_customer_accounts"),
            "customer_accounts",
            ["customer_account_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backchannel_logout_uri", sa.Text(), nullable=True))

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to", sa.String(length=320), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_operator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("reply_to")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_operator")

    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("backchannel_logout_uri")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_audit_events_customer_account_id_customer_accounts"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_audit_events_customer_account_id"))
        batch_op.drop_column("customer_account_id")

    with op.batch_alter_table("admin_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_requests_membership_id"))

    op.drop_table("admin_requests")
