"""customer accounts, memberships and legacy accounts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 21:40:49.645555

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_number', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('product_line', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_accounts')),
    sa.UniqueConstraint('customer_number', name=op.f('uq_customer_accounts_customer_number'))
    )
    op.create_table('legacy_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('customer_account_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('given_name', sa.String(length=100), nullable=True),
    sa.Column('family_name', sa.String(length=100), nullable=True),
    sa.Column('linked_user_id', sa.Integer(), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_account_id'], ['customer_accounts.id'], name=op.f('fk_legacy_accounts_customer_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['linked_user_id'], ['users.id'], name=op.f('fk_legacy_accounts_linked_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legacy_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_legacy_accounts_username'))
    )
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_accounts_customer_account_id'), ['customer_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legacy_accounts_linked_user_id'), ['linked_user_id'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('customer_account_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_account_id'], ['customer_accounts.id'], name=op.f('fk_memberships_customer_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('user_id', 'customer_account_id', name=op.f('uq_memberships_user_id'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_customer_account_id'), ['customer_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_customer_account_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legacy_accounts_linked_user_id'))
        batch_op.drop_index(batch_op.f('ix_legacy_accounts_customer_account_id'))

    op.drop_table('legacy_accounts')
    op.drop_table('customer_accounts')
