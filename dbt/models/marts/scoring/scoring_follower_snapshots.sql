select
    concat(platform, ':', handle) as creator_id,
    follower_handle,
    follower_name as full_name,
    follower_bio as biography,
    follower_followers as follower_count,
    follower_following as following_count,
    follower_posts as post_count,
    follower_has_picture as has_profile_pic,
    follower_private as is_private,
    follower_verified as is_verified,
    follower_external_url as external_url,
    observed_at
from {{ ref('stg_events__follower_snapshots') }}
