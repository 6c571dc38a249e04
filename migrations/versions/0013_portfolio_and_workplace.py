"""portfolio and workplace

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 13:44:05.985451

The trainee's leadership portfolio (issue 13: opportunities catalogue, activities, named written
feedback, time reports, letters of achievement) and the workplace (issue 14: organisations and
sites, placements, affordances answers, the Leadership Commitment tracker, board reports), and
the leadership champion role, who acts for one organisation.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_organisations_name_not_blank')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name'))
    )
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_sites_name_not_blank')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_sites_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_sites_organisation_id_name'))
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sites_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('board_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.SmallInteger(), nullable=False),
    sa.Column('commentary', sa.Text(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('produced_by_id', sa.Integer(), nullable=True),
    sa.Column('produced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quarter BETWEEN 1 AND 4', name=op.f('ck_board_reports_quarter_range')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2999', name=op.f('ck_board_reports_year_range')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_board_reports_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['produced_by_id'], ['users.id'], name=op.f('fk_board_reports_produced_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_reports')),
    sa.UniqueConstraint('organisation_id', 'year', 'quarter', name=op.f('uq_board_reports_organisation_id_year_quarter'))
    )
    op.create_table('commitment_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('criterion_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('not_started', 'in_progress', 'met', 'not_met')", name=op.f('ck_commitment_statuses_status_known')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_commitment_statuses_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_commitment_statuses_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_statuses'))
    )
    with op.batch_alter_table('commitment_statuses', schema=None) as batch_op:
        batch_op.create_index('ix_commitment_statuses_org_criterion', ['organisation_id', 'criterion_key', 'recorded_at'], unique=False)

    op.create_table('leadership_opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('how_to_join', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('meeting', 'chairing', 'interview_panel', 'shadowing', 'training_role', 'qi_project', 'committee', 'forum', 'teaching', 'mentoring', 'project', 'other')", name=op.f('ck_leadership_opportunities_kind_known')),
    sa.CheckConstraint("status <> 'proposed' OR proposed_by_id IS NOT NULL", name=op.f('ck_leadership_opportunities_proposal_has_proposer')),
    sa.CheckConstraint("status IN ('proposed', 'open', 'closed', 'declined')", name=op.f('ck_leadership_opportunities_status_known')),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_leadership_opportunities_title_not_blank')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_leadership_opportunities_proposed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_leadership_opportunities_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_leadership_opportunities_site_id_sites'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leadership_opportunities')),
    sa.UniqueConstraint('key', name=op.f('uq_leadership_opportunities_key'))
    )
    with op.batch_alter_table('leadership_opportunities', schema=None) as batch_op:
        batch_op.create_index('ix_leadership_opportunities_status_kind', ['status', 'kind'], unique=False)

    op.create_table('letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issuer_name', sa.String(length=120), nullable=False),
    sa.Column('issuer_role', sa.String(length=120), nullable=False),
    sa.Column('verification_code', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('length(verification_code) >= 10', name=op.f('ck_letters_code_length')),
    sa.CheckConstraint('revoked_at IS NULL OR revoked_at >= issued_at', name=op.f('ck_letters_revoked_after')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_letters_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_letters_trainee_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letters')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_letters_verification_code'))
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letters_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('specialty', sa.String(length=120), nullable=True),
    sa.Column('supervisor_name', sa.String(length=120), nullable=True),
    sa.Column('supervisor_email', sa.String(length=254), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ended_on IS NULL OR ended_on >= started_on', name=op.f('ck_placements_dates_in_order')),
    sa.CheckConstraint('length(department) > 0', name=op.f('ck_placements_department_not_blank')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_placements_site_id_sites'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_placements_trainee_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements'))
    )
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.create_index('ix_placements_site', ['site_id'], unique=False)
        batch_op.create_index('ix_placements_trainee_started', ['trainee_id', 'started_on'], unique=False)

    op.create_table('affordance_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('instrument_version_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('shared_with_coach', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['feedback_cycles.id'], name=op.f('fk_affordance_responses_cycle_id_feedback_cycles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instrument_version_id'], ['instrument_versions.id'], name=op.f('fk_affordance_responses_instrument_version_id_instrument_versions')),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], name=op.f('fk_affordance_responses_placement_id_placements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_affordance_responses_trainee_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affordance_responses'))
    )
    with op.batch_alter_table('affordance_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_affordance_responses_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_affordance_responses_placement_id'), ['placement_id'], unique=False)
        batch_op.create_index('ix_affordance_responses_trainee', ['trainee_id', 'submitted_at'], unique=False)

    op.create_table('opportunity_elements',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('element_key', sa.String(length=64), nullable=False),
    sa.Column('domain_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['leadership_opportunities.id'], name=op.f('fk_opportunity_elements_opportunity_id_leadership_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opportunity_id', 'element_key', name=op.f('pk_opportunity_elements'))
    )
    with op.batch_alter_table('opportunity_elements', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_elements_domain', ['domain_key'], unique=False)

    op.create_table('opportunity_interests',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['leadership_opportunities.id'], name=op.f('fk_opportunity_interests_opportunity_id_leadership_opportunities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_opportunity_interests_trainee_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opportunity_id', 'trainee_id', name=op.f('pk_opportunity_interests'))
    )
    with op.batch_alter_table('opportunity_interests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_interests_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('time_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=7, scale=2, asdecimal=False), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=True),
    sa.Column('reason_detail', sa.Text(), nullable=False),
    sa.Column('site', sa.String(length=120), nullable=True),
    sa.Column('specialty', sa.String(length=120), nullable=True),
    sa.Column('placement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'used' AND reason IS NULL) OR (kind = 'unavailable' AND reason IN ('rota', 'service_pressure', 'leave_refused', 'other'))", name=op.f('ck_time_reports_reason_fits_kind')),
    sa.CheckConstraint("kind IN ('used', 'unavailable')", name=op.f('ck_time_reports_kind_known')),
    sa.CheckConstraint('hours IS NULL OR (hours > 0 AND hours <= 2000)', name=op.f('ck_time_reports_hours_range')),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], name=op.f('fk_time_reports_placement_id_placements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_time_reports_trainee_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_reports'))
    )
    with op.batch_alter_table('time_reports', schema=None) as batch_op:
        batch_op.create_index('ix_time_reports_kind_on', ['kind', 'occurred_on'], unique=False)
        batch_op.create_index('ix_time_reports_trainee', ['trainee_id', 'occurred_on'], unique=False)

    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('hours', sa.Numeric(precision=7, scale=2, asdecimal=False), nullable=True),
    sa.Column('went_well', sa.Text(), nullable=False),
    sa.Column('do_differently', sa.Text(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('goal_id', sa.Integer(), nullable=True),
    sa.Column('placement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'doing' AND category IN ('meeting', 'chairing', 'interview_panel', 'shadowing', 'training_role', 'qi_project', 'committee', 'forum', 'teaching', 'mentoring', 'project', 'other')) OR (kind = 'education' AND category IN ('course', 'observation', 'reading', 'other_education'))", name=op.f('ck_activities_category_fits_kind')),
    sa.CheckConstraint("kind IN ('doing', 'education')", name=op.f('ck_activities_kind_known')),
    sa.CheckConstraint('ended_on IS NULL OR ended_on >= started_on', name=op.f('ck_activities_dates_in_order')),
    sa.CheckConstraint('hours IS NULL OR (hours >= 0 AND hours <= 2000)', name=op.f('ck_activities_hours_range')),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_activities_title_not_blank')),
    sa.ForeignKeyConstraint(['goal_id'], ['development_goals.id'], name=op.f('fk_activities_goal_id_development_goals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['leadership_opportunities.id'], name=op.f('fk_activities_opportunity_id_leadership_opportunities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], name=op.f('fk_activities_placement_id_placements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_activities_trainee_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_placement_id'), ['placement_id'], unique=False)
        batch_op.create_index('ix_activities_trainee_started', ['trainee_id', 'started_on'], unique=False)

    op.create_table('affordance_answers',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=True),
    sa.CheckConstraint('score IS NULL OR score BETWEEN 1 AND 10', name=op.f('ck_affordance_answers_score_range')),
    sa.ForeignKeyConstraint(['response_id'], ['affordance_responses.id'], name=op.f('fk_affordance_answers_response_id_affordance_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'item_key', name=op.f('pk_affordance_answers'))
    )
    op.create_table('activity_elements',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('element_key', sa.String(length=64), nullable=False),
    sa.Column('domain_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_elements_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', 'element_key', name=op.f('pk_activity_elements'))
    )
    with op.batch_alter_table('activity_elements', schema=None) as batch_op:
        batch_op.create_index('ix_activity_elements_domain', ['domain_key'], unique=False)

    op.create_table('activity_feedback_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('observer_name', sa.String(length=120), nullable=False),
    sa.Column('observer_email', sa.String(length=254), nullable=False),
    sa.Column('observer_role', sa.String(length=120), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('element_keys', sa.JSON(), nullable=False),
    sa.Column('token_nonce', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('overall', sa.Text(), nullable=False),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('reminder_count', sa.SmallInteger(), nullable=False),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'given') = (given_at IS NOT NULL)", name=op.f('ck_activity_feedback_requests_given_has_time')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'opened', 'declined', 'given', 'withdrawn')", name=op.f('ck_activity_feedback_requests_status_known')),
    sa.CheckConstraint('length(observer_name) > 0', name=op.f('ck_activity_feedback_requests_observer_named')),
    sa.CheckConstraint('observer_email = lower(observer_email)', name=op.f('ck_activity_feedback_requests_email_case_folded')),
    sa.CheckConstraint('reminder_count >= 0', name=op.f('ck_activity_feedback_requests_reminders_positive')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_feedback_requests_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_feedback_requests'))
    )
    with op.batch_alter_table('activity_feedback_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_feedback_requests_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_activity_feedback_requests_status', ['status'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'], ondelete='RESTRICT')
        batch_op.drop_constraint(batch_op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_users_role_known'), "role IN ('trainee', 'coach', 'admin', 'champion')")
        batch_op.create_check_constraint(
            batch_op.f('ck_users_champion_has_organisation'),
            "role <> 'champion' OR organisation_id IS NOT NULL")



def downgrade():
    op.execute("DELETE FROM users WHERE role = 'champion'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_champion_has_organisation'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_users_role_known'), "role IN ('trainee', 'coach', 'admin')")
        batch_op.drop_constraint(batch_op.f('fk_users_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_column('organisation_id')

    with op.batch_alter_table('activity_feedback_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_feedback_requests_status')
        batch_op.drop_index(batch_op.f('ix_activity_feedback_requests_activity_id'))

    op.drop_table('activity_feedback_requests')
    with op.batch_alter_table('activity_elements', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_elements_domain')

    op.drop_table('activity_elements')
    op.drop_table('affordance_answers')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_trainee_started')
        batch_op.drop_index(batch_op.f('ix_activities_placement_id'))
        batch_op.drop_index(batch_op.f('ix_activities_opportunity_id'))

    op.drop_table('activities')
    with op.batch_alter_table('time_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_time_reports_trainee')
        batch_op.drop_index('ix_time_reports_kind_on')

    op.drop_table('time_reports')
    with op.batch_alter_table('opportunity_interests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_interests_trainee_id'))

    op.drop_table('opportunity_interests')
    with op.batch_alter_table('opportunity_elements', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_elements_domain')

    op.drop_table('opportunity_elements')
    with op.batch_alter_table('affordance_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_affordance_responses_trainee')
        batch_op.drop_index(batch_op.f('ix_affordance_responses_placement_id'))
        batch_op.drop_index(batch_op.f('ix_affordance_responses_cycle_id'))

    op.drop_table('affordance_responses')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index('ix_placements_trainee_started')
        batch_op.drop_index('ix_placements_site')

    op.drop_table('placements')
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letters_trainee_id'))

    op.drop_table('letters')
    with op.batch_alter_table('leadership_opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_leadership_opportunities_status_kind')

    op.drop_table('leadership_opportunities')
    with op.batch_alter_table('commitment_statuses', schema=None) as batch_op:
        batch_op.drop_index('ix_commitment_statuses_org_criterion')

    op.drop_table('commitment_statuses')
    op.drop_table('board_reports')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sites_organisation_id'))

    op.drop_table('sites')
    op.drop_table('organisations')
