pub fn build_images() -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
