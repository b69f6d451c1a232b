"""Typed config: every shipped file loads, defaults match default.yaml, typos and bad types fail by path."""

from __future__ import annotations

import msgspec
import pytest

from bookgpt.config import CONFIG_DIR, Config, ConfigError, ModelConfig, load_config, replace


@pytest.mark.parametrize("path", sorted(p for p in CONFIG_DIR.glob("*.yaml") if p.name != "shelf.yaml"),
                         ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    cfg = load_config(path)
    assert isinstance(cfg, Config)


def test_default_yaml_equals_code_defaults():
    cfg = load_config()
    assert cfg == Config()
    assert (cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd) == (6, 8, 256)
    assert cfg.model.context_length == 512 and cfg.tokenizer.vocab_size == 8192
    assert cfg.pretrain.learning_rate == 3e-4 and cfg.pretrain.max_epochs == 50


def test_every_default_setting_has_a_comment():
    for line in (CONFIG_DIR / "default.yaml").read_text().splitlines():
        if line.startswith("  ") and ":" in line:
            assert "#" in line, f"setting without a comment: {line!r}"


def test_typo_in_yaml_names_the_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  n_layr: 4\n")
    with pytest.raises(ConfigError, match=r"n_layr.*\$\.model|\$\.model.*n_layr"):
        load_config(bad)


def test_wrong_type_in_yaml_names_the_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pretrain:\n  learning_rate: fast\n")
    with pytest.raises(ConfigError, match=r"\$\.pretrain\.learning_rate"):
        load_config(bad)


def test_overrides_are_typed_and_must_exist():
    cfg = load_config(overrides=["model.n_layer=4", "pretrain.learning_rate=1e-3", "device=cpu"])
    assert cfg.model.n_layer == 4 and cfg.pretrain.learning_rate == 1e-3 and cfg.device == "cpu"
    with pytest.raises(ConfigError, match="'n_layr' is not a setting of model"):
        load_config(overrides=["model.n_layr=4"])
    with pytest.raises(ConfigError, match=r"--set model\.n_layer=four: Expected `int`"):
        load_config(overrides=["model.n_layer=four"])
    for bad, msg in (("pretrain.eval_interval=0", "at least 1"), ("model.dropout=2", "at most 0.9"),
                     ("crawl.timeout_s=-1", "above 0")):
        with pytest.raises(ConfigError, match=msg):
            load_config(overrides=[bad])
    with pytest.raises(ConfigError, match="is a section"):
        load_config(overrides=["model=3"])
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(overrides=["model.n_layer"])
    with pytest.raises(ConfigError, match=r"\$\.device"):
        load_config(overrides=["device=tpu"])


def test_limits_name_the_setting_its_range_and_the_value(tmp_path):
    with pytest.raises(ConfigError, match=r"^--set model\.dropout=2: model\.dropout must be at least 0 "
                                          r"and at most 0\.9, got 2$"):
        load_config(overrides=["model.dropout=2"])
    with pytest.raises(ConfigError, match="pretrain.learning_rate must be above 0, got nan"):
        load_config(overrides=["pretrain.learning_rate=nan"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("tokenizer:\n  vocab_size: 100\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: tokenizer\.vocab_size must be at least 300 "
                                          r"\(256 bytes \+ specials\), got 100$"):
        load_config(bad)


def test_replace_checks_as_loading_does():
    cfg = load_config()
    with pytest.raises(ConfigError, match="model.n_layer must be at least 1, got 0"):
        replace(cfg, model=msgspec.structs.replace(cfg.model, n_layer=0))
    assert replace(cfg, device="cpu") == msgspec.structs.replace(cfg, device="cpu")


def test_inconsistent_values_are_refused():
    with pytest.raises(ConfigError, match=r"--set model\.n_head=5: model\.n_embd \(256\) must be divisible "
                                          r"by model\.n_head \(5\)"):
        load_config(overrides=["model.n_head=5"])
    with pytest.raises(ConfigError, match="divisible"):
        ModelConfig(n_embd=30, n_head=4)  # checked however the section is made
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("no/such/config.yaml")


def test_configs_are_frozen():
    cfg = load_config()
    with pytest.raises(AttributeError):
        cfg.model.n_layer = 3  # type: ignore[misc]
